"""Parties' key histories, proved from the log and kept for offline use.

A signature is judged by the key its signer had when it signed: an issuer that
rotated its key since it issued an asset still signed that asset with its old
key. The server publishes each party's keys with the entries that gave them
(``GET /v1/parties/{id}``: ``keys``). Nothing of it is taken on trust here:

* every key's entry must be the registration, rotation or reinstatement of this
  party with exactly this key, at exactly that seq;
* a rotation must be signed by the key it replaces (a new key is vouched for by
  the old one, DESIGN "key history");
* the caller proves each entry's inclusion in a checkpoint it verified
  (`KeyHistory.leaves` lists what to prove).

A verified history is remembered (`KeyCache`, ``<home>/keys.json``) so a counter
can check an issuer's signature while offline, with the keys it knew at its last sync.
"""

from __future__ import annotations

import json
import os
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chainledger.crypto import verify_signature
from chainledger.encoding import b64decode, b64encode, text_is_unicode
from chainledger.entry import Entry, decode_entry
from chainledger.errors import MalformedInput, VerificationError

__all__ = ["KeyCache", "KeyHistory", "parse_key_history"]

_GIVERS = ("genesis", "party.register", "party.rotate", "party.reinstate")


@dataclass(frozen=True, slots=True)
class KeyHistory:
    """The keys of ``party``, oldest first: ``(seq, key, entry)``; each key is in force
    from the entry after ``seq`` until the next key's entry."""

    party: str
    keys: tuple[tuple[int, bytes, Entry], ...]

    def key_at(self, seq: int) -> bytes:
        """The key that signed a statement appended at ``seq`` (VerificationError if the
        party had no key yet)."""
        i = bisect_left([s for s, _, _ in self.keys], seq)
        if i == 0:
            raise VerificationError(f"{self.party} had no key before entry {seq}")
        return self.keys[i - 1][1]

    def leaves(self) -> list[Entry]:
        """The entries whose inclusion the caller must prove."""
        return [entry for _, _, entry in self.keys]

    def to_json(self) -> list[dict[str, Any]]:
        return [
            {"seq": seq, "public_key": b64encode(key), "entry": entry.data.decode("utf-8")}
            for seq, key, entry in self.keys
        ]


def _given_to(entry: Entry) -> str | None:
    s = entry.statement.stmt
    if entry.kind in ("genesis", "party.rotate"):
        return entry.actor
    party = s.get("party")
    return party if isinstance(party, str) else None


def parse_key_history(party: str, records: Any) -> KeyHistory:
    """Check a served key history (JSON list of ``{seq, public_key, entry}``) as far as it
    can be checked without the log; raises `VerificationError` (or `MalformedInput` for
    what is not a key history at all)."""
    if not isinstance(records, list) or not records:
        raise MalformedInput("key history", "must be a non-empty list")
    if not text_is_unicode(records):  # a "\ud800" escape, as json.loads lets through
        raise MalformedInput("key history", "text that is not Unicode (a lone surrogate)")
    keys: list[tuple[int, bytes, Entry]] = []
    for rec in records:
        if not isinstance(rec, Mapping) or not isinstance(rec.get("seq"), int):
            raise MalformedInput("key history", "each key needs seq, public_key and entry")
        key = b64decode(str(rec.get("public_key")), "public_key", 32)
        entry = decode_entry(str(rec.get("entry", "")).encode("utf-8"))
        seq = int(rec["seq"])
        if entry.seq != seq or entry.kind not in _GIVERS or _given_to(entry) != party:
            raise VerificationError(f"key {len(keys)} of {party} is not given by its entry")
        if b64decode(str(entry.statement.stmt.get("key")), "key", 32) != key:
            raise VerificationError(f"the entry at seq {seq} gives {party} another key")
        if keys and seq <= keys[-1][0]:
            raise VerificationError(f"the keys of {party} are not in log order")
        if entry.kind == "party.rotate":
            if not keys:
                raise VerificationError(f"{party} rotated a key it never had")
            # A new key is vouched for by the old one.
            verify_signature(keys[-1][1], entry.statement.sig, entry.statement.body)
        keys.append((seq, key, entry))
    return KeyHistory(party, tuple(keys))


class KeyCache:
    """Verified key histories by party (``<home>/keys.json``), for checks made offline."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise MalformedInput("key cache", f"{self.path} is not JSON") from None
        if not isinstance(data, dict):
            raise MalformedInput("key cache", f"{self.path} is not a JSON object")
        return data

    def get(self, party: str) -> KeyHistory | None:
        """The cached history of ``party`` (re-checked as it is loaded), or None."""
        records = self._load().get(party)
        if records is None:
            return None
        try:
            return parse_key_history(party, records)
        except VerificationError as exc:
            raise MalformedInput("key cache", f"{party}: {exc}") from None

    def put(self, history: KeyHistory) -> None:
        data = self._load()
        data[history.party] = history.to_json()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)  # atomic: never a half-written cache
