"""The catalog: asset classes and service scenarios (用证清单), as ledger entries.

* ``catalog.class`` (platform): an asset class: its fields and their types,
  its subject kind (person or enterprise), the issuing authority, its names.
* ``catalog.scenario`` (platform): for one counter type and one purpose, which
  classes and which of their fields a counter may read (data minimization,
  最少必要), and the opening hours used by the anomaly rules.

Publishing a definition again replaces it (from that seq on); history keeps
every version.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from chainledger.errors import SchemaError
from chainledger.fieldtypes import check_field_def
from chainledger.rules import ROLE_PLATFORM, Context, Kind
from chainledger.statement import SignedStatement
from chainledger.store.base import StateReader, StateWriter

__all__ = ["check_class", "check_scenario", "kinds"]

_ID = re.compile(r"[a-z][a-z0-9_]{0,47}")
_HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


def _names(d: Mapping[str, Any]) -> None:
    names = d.get("names")
    if (
        not isinstance(names, dict)
        or set(names) != {"zh", "en"}
        or not all(isinstance(v, str) and 0 < len(v) <= 100 for v in names.values())
    ):
        raise SchemaError("names", "must have non-empty zh and en names")


def check_class(d: object) -> dict[str, Any]:
    """Raise `SchemaError` unless ``d`` is a well-formed class definition; return it."""
    if not isinstance(d, dict):
        raise SchemaError("definition", "must be an object")
    allowed = {"class", "subject", "authority", "names", "fields", "validity_years"}
    if not set(d) <= allowed or not {"class", "subject", "authority", "names", "fields"} <= set(d):
        raise SchemaError("definition", "class members: " + ", ".join(sorted(allowed)))
    if not isinstance(d["class"], str) or not _ID.fullmatch(d["class"]):
        raise SchemaError("class", "must be a snake_case id")
    if d["subject"] not in ("person", "enterprise"):
        raise SchemaError("subject", "must be person or enterprise")
    if not isinstance(d["authority"], str) or not _ID.fullmatch(d["authority"]):
        raise SchemaError("authority", "must be an authority code")
    _names(d)
    fields = d["fields"]
    if not isinstance(fields, list) or not 0 < len(fields) <= 40:
        raise SchemaError("fields", "must list 1 to 40 fields")
    for f in fields:
        check_field_def(f)
    if len({f["name"] for f in fields}) != len(fields):
        raise SchemaError("fields", "field names must be unique")
    years = d.get("validity_years")
    if years is not None and not (isinstance(years, int) and not isinstance(years, bool)):
        raise SchemaError("validity_years", "must be an integer or null")
    return d


def check_scenario(d: object, state: StateReader) -> dict[str, Any]:
    """Raise `SchemaError` unless ``d`` is a well-formed scenario over published classes."""
    if not isinstance(d, dict):
        raise SchemaError("definition", "must be an object")
    members = {"scenario", "counter_type", "purpose", "names", "reads", "hours"}
    if set(d) != members:
        raise SchemaError("definition", "scenario members: " + ", ".join(sorted(members)))
    for name in ("scenario", "counter_type", "purpose"):
        if not isinstance(d[name], str) or not _ID.fullmatch(d[name]):
            raise SchemaError(name, "must be a snake_case id")
    _names(d)
    reads = d["reads"]
    if not isinstance(reads, dict) or not reads:
        raise SchemaError("reads", "must map classes to the fields read")
    for class_id, fields in reads.items():
        cls = state.catalog_class(class_id)
        if cls is None:
            raise SchemaError("reads", f"class {class_id} is not in the catalog")
        known = {f["name"] for f in cls["fields"]}
        if not isinstance(fields, list) or not fields or not set(fields) <= known:
            raise SchemaError("reads", f"fields of {class_id} must be a subset of its fields")
        if len(set(fields)) != len(fields):
            raise SchemaError("reads", "fields must not repeat")
    hours = d["hours"]
    if hours is not None and not (
        isinstance(hours, dict)
        and set(hours) == {"from", "to"}
        and all(isinstance(v, str) and _HHMM.fullmatch(v) for v in hours.values())
    ):
        raise SchemaError("hours", 'must be null or {"from": "HH:MM", "to": "HH:MM"}')
    return d


def _check_class(state: StateReader, stmt: SignedStatement, ctx: Context) -> None:
    check_class(stmt.stmt["definition"])


def _apply_class(w: StateWriter, stmt: SignedStatement, ctx: Context) -> None:
    d = stmt.stmt["definition"]
    w.put_class(d["class"], d, ctx.seq)


def _check_scenario(state: StateReader, stmt: SignedStatement, ctx: Context) -> None:
    check_scenario(stmt.stmt["definition"], state)


def _apply_scenario(w: StateWriter, stmt: SignedStatement, ctx: Context) -> None:
    d = stmt.stmt["definition"]
    w.put_scenario(d["scenario"], d, ctx.seq)


def kinds() -> list[Kind]:
    platform = frozenset({ROLE_PLATFORM})
    return [
        Kind("catalog.class", platform, frozenset({"definition"}), _check_class, _apply_class),
        Kind(
            "catalog.scenario",
            platform,
            frozenset({"definition"}),
            _check_scenario,
            _apply_scenario,
        ),
    ]
