"""The storage contract: what the ledger needs from a database, and nothing more.

A backend keeps four things: the entries (append-only), the hashes of complete
Merkle subtrees (append-only, so a proof reads O(log n) rows), the signed
checkpoints (append-only), and the projections (current state derived from the
entries, which can be rebuilt from them). Writes happen only inside `Store.write`,
one exclusive transaction per batch, committed durably before it returns.

Beside the log it keeps witnesses' cosignatures of checkpoints: not entries, not
derived from them, and replaceable (a witness's newer cosignature of a size
replaces its older one).

Nothing backend-specific leaks through this interface: the embedded SQLite store
(`chainledger.store.sqlite`) and the PostgreSQL store (`chainledger.store.postgres`,
several API nodes on one database) run the same contract test suite.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from chainledger.merkle import NodeKey
from chainledger.store.projections import (
    AssetRow,
    BindingStore,
    ProjectionReader,
    ProjectionWriter,
    VaultRecord,
    VaultStore,
    VaultWriter,
)

__all__ = [
    "CheckpointRow",
    "EntryRow",
    "LogReader",
    "LogWriter",
    "PartyRow",
    "StateReader",
    "StateWriter",
    "Store",
]


@dataclass(frozen=True, slots=True)
class EntryRow:
    """An entry's canonical bytes plus the columns the store indexes."""

    seq: int
    data: bytes
    kind: str
    actor: str
    nonce: str
    #: The statement already packed for storage (a hint some backends use), or None.
    packed: bytes | None = None


@dataclass(frozen=True, slots=True)
class CheckpointRow:
    """A signed checkpoint as stored: its size, root, note text and signing time."""

    size: int
    root: bytes
    note: str
    ts: str


@dataclass(frozen=True, slots=True)
class PartyRow:
    """Projection: a party's current key, role, status and role attributes."""

    id: str
    role: str
    name: str
    public_key: bytes
    status: str
    since_seq: int
    attrs: dict[str, Any] = field(default_factory=dict)


class LogReader(Protocol):
    def latest_checkpoint(self) -> CheckpointRow | None:
        """The checkpoint with the largest size (the tip), or None before genesis."""
        ...

    def checkpoint(self, size: int) -> CheckpointRow | None:
        """The checkpoint signed at exactly ``size``, if one was."""
        ...

    def checkpoints(self, start: int = 0) -> Iterator[CheckpointRow]:
        """Checkpoints with size >= ``start``, by increasing size."""
        ...

    def entry(self, seq: int) -> bytes | None: ...

    def entries(self, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        """(seq, data) for start <= seq < end, by increasing seq."""
        ...

    def stored_entries(self, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        """`entries` as stored (`chainledger.store.entry_codec` unpacks and rebuilds them):
        for `chainledger.verify`, which decodes each row once, from its stored parts."""
        ...

    def nodes(self, keys: Iterable[NodeKey]) -> dict[NodeKey, bytes]:
        """The stored complete-subtree hashes among ``keys`` (missing keys are absent)."""
        ...

    def node_range(self, level: int, start: int, end: int) -> dict[NodeKey, bytes]:
        """The stored nodes (level, i) for start <= i < end: one range scan, much cheaper
        than `nodes` with thousands of keys (verify reads every node)."""
        ...

    def node_run(self, level: int, start: int, end: int) -> bytes:
        """The stored hashes of the nodes (level, i) for start <= i < end, concatenated in
        index order (a missing node leaves no gap): what verify compares a whole chunk's
        recomputed nodes with, one bytes comparison per level."""
        ...

    def nonce_used(self, actor: str, nonce: str) -> bool: ...

    def nonce_seq(self, actor: str, nonce: str) -> int | None:
        """The seq of the entry with this (actor, nonce), or None (one index search)."""
        ...

    def nonces_used(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (actor, nonce) pairs are already on the ledger (one query)."""
        ...

    def party(self, party_id: str) -> PartyRow | None: ...

    def party_keys(self, party_id: str) -> list[tuple[int, bytes]]:
        """Every key ``party_id`` has had: (seq of the entry that gave it, key), by seq."""
        ...

    def cosignatures(self, size: int) -> list[str]:
        """The stored cosignature lines of the checkpoint of ``size``, ordered by witness."""
        ...

    def projection_snapshot(self) -> dict[str, list[tuple[object, ...]]]:
        """Every projection table's rows in primary-key order, to compare two stores."""
        ...


class LogWriter(LogReader, Protocol):
    """A view inside one exclusive write transaction (reads see its own writes)."""

    def add_entries(self, rows: Sequence[EntryRow]) -> None:
        """Append entries; `Conflict` if a seq or an (actor, nonce) already exists."""
        ...

    def add_nodes(self, nodes: Sequence[tuple[NodeKey, bytes]]) -> None: ...

    def add_checkpoint(self, row: CheckpointRow) -> None: ...

    def put_party(self, row: PartyRow) -> None: ...

    def add_party_key(self, party_id: str, seq: int, key: bytes) -> None:
        """Record that entry ``seq`` gave ``party_id`` the key ``key``."""
        ...

    def add_cosignature(self, size: int, witness: str, line: str, timestamp: int) -> bool:
        """Store ``witness``'s cosignature ``line`` of the checkpoint of ``size``.

        One per (size, witness): an existing one is replaced only by a strictly
        newer ``timestamp``. Returns whether ``line`` was stored. Checks nothing
        else (the ledger verifies the line before calling).
        """
        ...


class StateReader(LogReader, ProjectionReader, VaultStore, BindingStore, Protocol):
    """Everything the rules may read: the log, the projections, the vault, the bindings."""

    def parties(self, role: str | None = None) -> list[PartyRow]: ...

    def asset_with_vault(self, asset_id: str) -> tuple[AssetRow, VaultRecord | None] | None:
        """`asset` and `vault_get` of ``asset_id`` in one statement (one consistent view
        without a transaction around two): None if there is no such asset; the record is
        None if the asset has none (erased)."""
        ...


class StateWriter(StateReader, LogWriter, ProjectionWriter, VaultWriter, Protocol):
    """Everything one write transaction may change."""


class Store(StateReader, Protocol):
    def reading(self) -> AbstractContextManager[StateReader]:
        """A consistent read view across several queries."""
        ...

    def write(self) -> AbstractContextManager[StateWriter]:
        """An exclusive write transaction: committed durably on normal exit, else rolled back."""
        ...

    def backup(self, dest: Path) -> None:
        """A consistent copy of the whole store at ``dest`` (which must not exist), taken
        online: writers may go on meanwhile, the copy is one committed state."""
        ...

    def close(self) -> None: ...
