"""Following the log and re-verifying every entry, as a monitor (or any careful party).

From the first entry on, each new entry must: decode as a canonical entry, carry the
next seq, link to the previous leaf (``prev``), not go back in time, and carry a
valid signature by its actor's key *as the log itself says it was then* (keys come
from the genesis, ``party.register`` and ``party.rotate`` entries already verified).
The leaves are folded into the tree's right edge, whose root must equal the root of
the checkpoint (itself signed and consistent with what this wallet saw before).
Anything else is an `AttackDetected`. A server that answers an error (5xx, not 503)
instead of entries its signed checkpoint covers is an `EntryUnavailable` naming them (not
an attack: from outside, a broken row and a server fault look alike).

State (``<home>/monitor.json``): size, right edge, last leaf, last time, party keys.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from chainledger.crypto import SUITES, HashSuite, verify_signature
from chainledger.encoding import b64decode
from chainledger.entry import GENESIS_PREV, decode_entry
from chainledger.errors import (
    ChainledgerError,
    MalformedInput,
    SchemaError,
    VerificationError,
)
from chainledger.frontier import Frontier
from wallet.client import AttackDetected, LedgerClient, ServerRefused
from wallet.httpsig import RequestSigner

__all__ = ["EntryUnavailable", "Monitor"]

PAGE = 1000


class EntryUnavailable(ChainledgerError):
    """The server failed (5xx) to serve an entry that its signed checkpoint covers."""

    code = "entry_unavailable"


class Monitor:
    def __init__(self, path: Path, suite: HashSuite = SUITES["sha256"]) -> None:
        self.path = Path(path)
        self.suite = suite
        state = self._load()
        self.size: int = state.get("size", 0)
        self.frontier = Frontier(
            suite, self.size, [bytes.fromhex(h) for h in state.get("frontier", [])]
        )
        self.last_leaf: str = state.get("last_leaf", GENESIS_PREV)
        self.last_ts: str = state.get("last_ts", "")
        self.keys: dict[str, str] = dict(state.get("keys", {}))

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise MalformedInput("monitor state", f"{self.path} is not JSON") from None
        if not isinstance(data, dict):
            raise MalformedInput("monitor state", f"{self.path} is not a JSON object")
        return data

    def _save(self) -> None:
        state = {
            "size": self.size,
            "frontier": [h.hex() for h in self.frontier.hashes],
            "last_leaf": self.last_leaf,
            "last_ts": self.last_ts,
            "keys": self.keys,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(state) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)

    def step(self, client: LedgerClient, signer: RequestSigner) -> tuple[int, int]:
        """Verify every entry up to the server's current checkpoint; return (entries newly
        verified, log size). Nothing is saved unless the whole step verifies."""
        cp = client.checkpoint()
        if cp.size < self.size:
            raise AttackDetected(f"rollback: the log shrank from {self.size} to {cp.size}")
        start = self.size
        while self.size < cp.size:
            limit = min(PAGE, cp.size - self.size)
            try:
                entries = client.entries(signer, self.size, limit)
            except ServerRefused as exc:
                if exc.status < 500 or exc.status == 503:  # 503: overloaded, try later
                    raise
                raise EntryUnavailable(
                    f"the server cannot serve the entries {self.size} to "
                    f"{self.size + limit - 1}, which its signed checkpoint of size {cp.size} "
                    f"covers ({exc})"
                ) from None
            if not entries:
                raise AttackDetected(f"the server withholds entries from {self.size}")
            for text in entries[:limit]:
                self._verify(text.encode("utf-8"))
        if self.frontier.root() != cp.root:
            raise AttackDetected(
                f"the entries up to {cp.size} do not make the checkpoint's root: "
                "an entry was changed, dropped or reordered"
            )
        self._save()
        return self.size - start, cp.size

    def _verify(self, data: bytes) -> None:
        seq = self.size
        try:
            entry = decode_entry(data)
        # SchemaError: the entry parses but its statement's fields do not.
        except (MalformedInput, SchemaError, VerificationError) as exc:
            raise AttackDetected(f"entry {seq} is malformed: {exc}") from None
        if entry.seq != seq:
            raise AttackDetected(f"entry {seq} says it is entry {entry.seq}")
        if entry.prev != self.last_leaf:
            raise AttackDetected(f"entry {seq} does not link to the entry before it")
        if entry.ts < self.last_ts:
            raise AttackDetected(f"entry {seq} goes back in time")
        stmt = entry.statement
        if seq == 0:
            if stmt.kind != "genesis":
                raise AttackDetected("entry 0 is not a genesis")
            self.keys[stmt.actor] = str(stmt.stmt["key"])
        key = self.keys.get(stmt.actor)
        if key is None:
            raise AttackDetected(f"entry {seq} is signed by an unregistered party")
        try:
            verify_signature(b64decode(key, "key", 32), stmt.sig, stmt.body)
        except (VerificationError, MalformedInput) as exc:
            raise AttackDetected(f"entry {seq}: bad signature by {stmt.actor} ({exc})") from None
        if stmt.kind == "party.register":
            self.keys[str(stmt.stmt["party"])] = str(stmt.stmt["key"])
        elif stmt.kind == "party.rotate":
            self.keys[stmt.actor] = str(stmt.stmt["key"])
        elif stmt.kind == "party.reinstate":
            self.keys[str(stmt.stmt["party"])] = str(stmt.stmt["key"])
        leaf = self.suite.leaf(data)
        self.frontier.append(leaf)
        self.last_leaf = leaf.hex()
        self.last_ts = entry.ts
        self.size += 1
