"""A counter's offline state: what it checks bundles against, and the reads it owes the log.

``<home>/offline.json`` holds what the counter last synced while online: its own
counter type, the published scenarios, and the revocation list as of a checkpoint
size. Issuers' key histories are in ``keys.json`` (`wallet.keys.KeyCache`) and the
pinned log key and last checkpoint in ``trust.json`` (`wallet.client.TrustStore`).

``<home>/queue/`` holds the ``access.read_offline`` records signed while offline, one
file each (with the bundle's checkpoint, proved consistent with the log at sync), until
the ledger has answered for them: recorded, or refused and that refusal recorded.
Files are written atomically, so a crash never leaves half a record.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chainledger.errors import MalformedInput

__all__ = ["OfflineCache", "OfflineStore", "QueuedRead"]


@dataclass(frozen=True, slots=True)
class OfflineCache:
    counter_type: str
    scenarios: dict[str, dict[str, Any]]
    revoked: dict[str, str]
    revocations_as_of: int
    synced_at: str


@dataclass(frozen=True, slots=True)
class QueuedRead:
    path: Path
    statement: dict[str, Any]
    checkpoint: str


def _write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _read(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MalformedInput(what, f"{path} is not JSON") from None


class OfflineStore:
    """The offline cache and queue of the wallet in ``home``."""

    def __init__(self, home: Path) -> None:
        self.cache_path = Path(home) / "offline.json"
        self.queue_dir = Path(home) / "queue"

    def save(self, cache: OfflineCache) -> None:
        _write(
            self.cache_path,
            {
                "counter_type": cache.counter_type,
                "scenarios": cache.scenarios,
                "revoked": cache.revoked,
                "revocations_as_of": cache.revocations_as_of,
                "synced_at": cache.synced_at,
            },
        )

    def load(self) -> OfflineCache:
        """The last synced cache; `MalformedInput` if there is none yet or it is damaged."""
        if not self.cache_path.exists():
            raise MalformedInput("offline cache", "none yet: run `wallet sync` while online")
        data = _read(self.cache_path, "offline cache")
        try:
            return OfflineCache(
                str(data["counter_type"]),
                dict(data["scenarios"]),
                dict(data["revoked"]),
                int(data["revocations_as_of"]),
                str(data["synced_at"]),
            )
        except (KeyError, TypeError, ValueError):
            raise MalformedInput("offline cache", f"{self.cache_path} is damaged") from None

    def enqueue(self, statement: dict[str, Any], checkpoint: str) -> Path:
        """Keep a signed offline read until it is sent (named by its nonce: unique)."""
        nonce = str(statement["stmt"]["nonce"]).replace("/", "_").replace("+", "-")
        path = self.queue_dir / f"{statement['stmt']['ts']}-{nonce}.json"
        _write(path, {"statement": statement, "checkpoint": checkpoint})
        return path

    def queued(self) -> list[QueuedRead]:
        """The queued reads, oldest first."""
        if not self.queue_dir.is_dir():
            return []
        out = []
        for path in sorted(self.queue_dir.glob("*.json")):
            data = _read(path, "queued read")
            try:
                out.append(QueuedRead(path, dict(data["statement"]), str(data["checkpoint"])))
            except (KeyError, TypeError, ValueError):
                raise MalformedInput("queued read", f"{path} is damaged") from None
        return out

    def done(self, item: QueuedRead) -> None:
        item.path.unlink()
