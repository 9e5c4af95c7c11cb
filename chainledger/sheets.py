"""The cross-verification sheet (证明核查表): several reads for one application.

An application such as a public-place hygiene licence needs several assets
(the business licence and every staff member's health certificate). The
counter reads each under its grant (each read is its own ledger entry, or its
own recorded refusal), then signs a ``sheet.issue`` statement listing what was
checked: per item the asset, its class, the fields, the outcome and the seq
and leaf hash of the read's entry. The sheet is appended too, so it has its own
receipt; anyone can check each listed entry against the ledger.
"""

from __future__ import annotations

import re
from typing import Any

from chainledger.errors import SchemaError
from chainledger.rules import Context, Kind, Refused, apply_nothing
from chainledger.statement import SignedStatement
from chainledger.store.base import StateReader
from chainledger.store.projections import AccessFilter

__all__ = ["MAX_ITEMS", "kinds"]

MAX_ITEMS = 200
_ID = re.compile(r"[a-z][a-z0-9_]{0,47}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ASSET = re.compile(r"a_[a-z2-7]{16}")


def _check_sheet(state: StateReader, stmt: SignedStatement, ctx: Context) -> None:
    s = stmt.stmt
    if not isinstance(s["application"], str) or not _ID.fullmatch(s["application"]):
        raise SchemaError("application", "must be an application type code")
    items = s["items"]
    if not isinstance(items, list) or not 0 < len(items) <= MAX_ITEMS:
        raise SchemaError("items", f"must list 1 to {MAX_ITEMS} checks")
    for item in items:
        if not isinstance(item, dict) or set(item) != {"seq", "leaf", "asset", "outcome"}:
            raise SchemaError("items", "each item has seq, leaf, asset and outcome")
        seq = item["seq"]
        if not isinstance(seq, int) or isinstance(seq, bool) or not 0 < seq < ctx.seq:
            raise SchemaError("items", "seq must name an earlier entry")
        if not isinstance(item["leaf"], str) or not _HEX64.fullmatch(item["leaf"]):
            raise SchemaError("items", "leaf must be a hex leaf hash")
        if item["outcome"] not in ("read", "denied"):
            raise SchemaError("items", "outcome must be read or denied")
        asset = item["asset"]
        if asset is not None and not (isinstance(asset, str) and _ASSET.fullmatch(asset)):
            raise SchemaError("items", "asset must be an asset id or null")
        rows = state.access(AccessFilter(counter=stmt.actor, after_seq=seq - 1, limit=1))
        if not rows or rows[0].seq != seq or rows[0].outcome != item["outcome"]:
            raise Refused("sheet_item_unknown", "an item is not this counter's request")
        if rows[0].asset != asset:
            raise Refused("sheet_item_unknown", "an item names another asset")
        data = (ctx.log or state).entry(seq)
        if data is None or ctx.suite.leaf(data).hex() != item["leaf"]:
            raise Refused("sheet_item_unknown", "an item's leaf is not its entry's leaf hash")


def sheet_fields(application: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"application": application, "items": items}


def kinds() -> list[Kind]:
    return [
        Kind(
            "sheet.issue",
            frozenset({"counter"}),
            frozenset({"application", "items"}),
            _check_sheet,
            apply_nothing,
        )
    ]
