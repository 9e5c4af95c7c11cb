"""SQL implementation of the projections, the vault and the identity bindings.

Mixed into the store's reader and writer (`chainledger.store.sqlite`, and through them
`chainledger.store.postgres`); every method reaches the database through ``self._c()``,
the connection of the current thread or of the open write transaction.

The statements are written once, in the SQL that SQLite and PostgreSQL share, with
``?`` placeholders (the PostgreSQL store's connection rewrites them to ``%s``): upserts
are ``INSERT ... ON CONFLICT ... DO UPDATE``, new rows return their key with
``RETURNING``, and no value is formatted into the text.
"""

from __future__ import annotations

import functools
import json
import time
from calendar import timegm
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

from chainledger.store.projections import (
    AccessFilter,
    AccessRow,
    AssetRow,
    GrantRow,
    VaultRecord,
)

__all__ = [
    "ProjectionReads",
    "ProjectionWrites",
    "SqlConnection",
    "SqlCursor",
    "WriteCache",
    "canonical_text",
    "ts_ms",
    "upsert",
]


class SqlCursor(Protocol):
    """The part of a DB-API cursor the shared queries use (sqlite3's, psycopg's)."""

    arraysize: int

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def fetchmany(self, size: int = ..., /) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class SqlConnection(Protocol):
    """The part of a DB-API connection the shared queries use: ``?`` placeholders."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> SqlCursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> SqlCursor: ...


def upsert(table: str, columns: str, key: str) -> str:
    """``INSERT`` of every column of ``columns`` (comma-separated), replacing the row
    whose ``key`` is taken: the upsert both SQLite (3.24+) and PostgreSQL understand."""
    names = [c.strip() for c in columns.split(",")]
    updates = ", ".join(f"{c} = excluded.{c}" for c in names if c != key)
    marks = ", ".join("?" * len(names))
    return (
        f"INSERT INTO {table} ({columns}) VALUES ({marks}) "
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )


OUTCOMES = {"read": 1, "denied": 0}
OUTCOME_NAMES = {v: k for k, v in OUTCOMES.items()}


def cast_opt(value: Any) -> dict[str, Any] | None:
    return None if value is None else dict(value)


def canonical_text(value: Any) -> str:
    """Deterministic JSON text for a projection column (sorted keys, no spaces)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@functools.lru_cache(maxsize=64)  # a batch's entries share one timestamp
def ts_ms(ts: str) -> int:
    """Milliseconds since the epoch of a ledger timestamp (2026-11-26T13:45:00.123Z)."""
    seconds = timegm(
        (int(ts[0:4]), int(ts[5:7]), int(ts[8:10]), int(ts[11:13]), int(ts[14:16]), int(ts[17:19]))
    )
    return seconds * 1000 + int(ts[20:23])


@functools.lru_cache(maxsize=4096)
def ms_ts(ms: int) -> str:
    """The ledger timestamp text of milliseconds since the epoch (inverse of `ts_ms`)."""
    t = time.gmtime(ms // 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{ms % 1000:03d}Z"


_ASSET = "id, class, holder, issuer, status, valid_from, valid_until, seq, authorized_seq"
_ASSET_COLUMNS = len(_ASSET.split(", "))
_ASSET_OF_A = ", ".join(f"a.{c}" for c in _ASSET.split(", "))
_GRANT = (
    "id, holder, grantee, scenario, purpose, scope, assets, not_before, expires, "
    "max_uses, uses, secret_hash, status, seq"
)


def _grant(r: Any) -> GrantRow:
    return GrantRow(
        r[0], r[1], r[2], r[3], r[4], json.loads(r[5]),
        json.loads(r[6]) if r[6] is not None else None,
        r[7], r[8], r[9], r[10], r[11], r[12], r[13],
    )  # fmt: skip


class ProjectionReads:
    """Queries over the projections, the vault and the bindings."""

    #: id -> name, for rows already committed (ids never change once committed).
    _names: dict[int, str]

    def _c(self) -> SqlConnection:
        raise NotImplementedError

    # --- catalog ---

    def catalog_class(self, class_id: str) -> dict[str, Any] | None:
        row = self._c().execute("SELECT def FROM classes WHERE id = ?", (class_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def catalog_classes(self) -> list[dict[str, Any]]:
        return [json.loads(r[0]) for r in self._c().execute("SELECT def FROM classes ORDER BY id")]

    def scenario(self, scenario_id: str) -> dict[str, Any] | None:
        row = self._c().execute("SELECT def FROM scenarios WHERE id = ?", (scenario_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def scenarios(self) -> list[dict[str, Any]]:
        return [
            json.loads(r[0]) for r in self._c().execute("SELECT def FROM scenarios ORDER BY id")
        ]

    # --- assets and grants ---

    def asset(self, asset_id: str) -> AssetRow | None:
        row = self._c().execute(f"SELECT {_ASSET} FROM assets WHERE id = ?", (asset_id,)).fetchone()
        return AssetRow(*row) if row else None

    def assets_of(self, holder: str) -> list[AssetRow]:
        rows = self._c().execute(
            f"SELECT {_ASSET} FROM assets WHERE holder = ? ORDER BY seq",
            (holder,),
        )
        return [AssetRow(*r) for r in rows]

    def inactive_assets(self) -> dict[str, str]:
        rows = self._c().execute("SELECT id, status FROM assets WHERE status != 'active'")
        return dict(rows.fetchall())

    def grant(self, grant_id: str) -> GrantRow | None:
        row = self._c().execute(f"SELECT {_GRANT} FROM grants WHERE id = ?", (grant_id,)).fetchone()
        return _grant(row) if row else None

    def grants_of(self, holder: str) -> list[GrantRow]:
        rows = self._c().execute(
            f"SELECT {_GRANT} FROM grants WHERE holder = ? ORDER BY seq",
            (holder,),
        )
        return [_grant(r) for r in rows]

    # --- the access log ---

    def _name_of(self, name_id: int | None) -> str | None:
        if name_id is None:
            return None
        cache = self.__dict__.setdefault("_names", {})
        name = cache.get(name_id)
        if name is None:
            row = self._c().execute("SELECT name FROM names WHERE id = ?", (name_id,)).fetchone()
            name = cache[name_id] = row[0]
        return str(name)

    def _id_of(self, name: str) -> int | None:
        row = self._c().execute("SELECT id FROM names WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else None

    def access(self, flt: AccessFilter) -> list[AccessRow]:
        where = ["seq > ?"]
        params: list[Any] = [flt.after_seq]
        for column, value in (
            ("holder", flt.holder),
            ("asset", flt.asset),
            ("counter", flt.counter),
            ("issuer", flt.issuer),
            ("purpose", flt.purpose),
        ):
            if value is not None:
                name_id = self._id_of(value)
                if name_id is None:
                    return []  # never seen: nothing can match
                where.append(f"{column} = ?")
                params.append(name_id)
        if flt.outcome is not None:
            where.append("outcome = ?")
            params.append(OUTCOMES[flt.outcome])
        if flt.since is not None:
            where.append("ts >= ?")
            params.append(ts_ms(flt.since))
        if flt.until is not None:
            where.append("ts < ?")
            params.append(ts_ms(flt.until))
        params.append(flt.limit)
        # Entry times never go backwards, so (ts, seq) is seq order; saying so lets a time
        # window be served by the ts index instead of a scan from the first row.
        order = "ts, seq" if flt.since is not None or flt.until is not None else "seq"
        # The WHERE clause is built from fixed column names only; values are bound.
        sql = (
            "SELECT seq, ts, counter, holder, asset, class, issuer, grant_id, purpose, outcome, "
            f"reason FROM access WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?"
        )
        raw = self._c().execute(sql, params).fetchall()
        self._load_names({i for r in raw for i in (*r[2:9], r[10]) if i is not None})
        return [self._access_row(r) for r in raw]

    def _load_names(self, ids: set[int]) -> None:
        """Fetch the names of these ids not cached yet, in one query per 30,000."""
        cache: dict[int, str] = self.__dict__.setdefault("_names", {})
        missing = [i for i in ids if i not in cache]
        for k in range(0, len(missing), 30000):
            chunk = missing[k : k + 30000]
            marks = ",".join("?" * len(chunk))
            cache.update(
                self._c().execute(f"SELECT id, name FROM names WHERE id IN ({marks})", chunk)
            )

    def _access_row(self, r: Any) -> AccessRow:
        n = self.__dict__["_names"].get  # every id was loaded by _load_names
        return AccessRow(
            r[0], ms_ts(r[1]), n(r[2]) or "", n(r[3]), n(r[4]), n(r[5]), n(r[6]), n(r[7]),
            n(r[8]), OUTCOME_NAMES[r[9]], n(r[10]),
        )  # fmt: skip

    def counts(self) -> dict[str, Any]:
        c = self._c()
        classes = self.catalog_classes()

        def one(sql: str) -> int:
            return int(c.execute(sql).fetchone()[0])

        per_class: dict[str, dict[str, int]] = {
            d["class"]: {"assets": 0, "reads": 0, "refusals": 0} for d in classes
        }
        for cls, n in c.execute("SELECT class, COUNT(*) FROM assets GROUP BY class"):
            per_class.setdefault(cls, {"assets": 0, "reads": 0, "refusals": 0})["assets"] = n
        per_counter: dict[str, dict[str, int]] = {}
        for counter, cls, outcome, n in c.execute(
            "SELECT counter, class, outcome, COUNT(*) FROM access GROUP BY counter, class, outcome"
        ):
            key = "reads" if outcome == OUTCOMES["read"] else "refusals"
            counter_name = self._name_of(counter) or ""
            per_counter.setdefault(counter_name, {"reads": 0, "refusals": 0})[key] += n
            class_name = self._name_of(cls)
            if class_name is not None:
                row = per_class.setdefault(class_name, {"assets": 0, "reads": 0, "refusals": 0})
                row[key] += n
        return {
            "classes": len(classes),
            "personal_classes": sum(1 for d in classes if d.get("subject") == "person"),
            "enterprise_classes": sum(1 for d in classes if d.get("subject") == "enterprise"),
            "assets": one("SELECT COUNT(*) FROM assets"),
            "active_assets": one("SELECT COUNT(*) FROM assets WHERE status = 'active'"),
            "authorized_assets": one(
                "SELECT COUNT(*) FROM assets WHERE authorized_seq IS NOT NULL"
            ),
            "grants": one("SELECT COUNT(*) FROM grants"),
            "reads": one(f"SELECT COUNT(*) FROM access WHERE outcome = {OUTCOMES['read']}"),
            "refusals": one(f"SELECT COUNT(*) FROM access WHERE outcome = {OUTCOMES['denied']}"),
            "parties": dict(c.execute("SELECT role, COUNT(*) FROM parties GROUP BY role")),
            "per_class": per_class,
            "per_counter": per_counter,
        }

    # --- vault and bindings (not projections) ---

    def vault_get(self, asset_id: str) -> VaultRecord | None:
        row = (
            self._c()
            .execute(
                "SELECT asset, wrapped_key, nonce, ciphertext FROM vault WHERE asset = ?",
                (asset_id,),
            )
            .fetchone()
        )
        return VaultRecord(row[0], bytes(row[1]), bytes(row[2]), bytes(row[3])) if row else None

    def asset_with_vault(self, asset_id: str) -> tuple[AssetRow, VaultRecord | None] | None:
        row = (
            self._c()
            .execute(
                f"SELECT {_ASSET_OF_A}, v.wrapped_key, v.nonce, v.ciphertext "
                "FROM assets a LEFT JOIN vault v ON v.asset = a.id WHERE a.id = ?",
                (asset_id,),
            )
            .fetchone()
        )
        if row is None:
            return None
        asset = AssetRow(*row[:_ASSET_COLUMNS])
        wrapped, nonce, ciphertext = row[_ASSET_COLUMNS:]
        if wrapped is None:
            return asset, None
        return asset, VaultRecord(asset.id, bytes(wrapped), bytes(nonce), bytes(ciphertext))

    def binding(self, keyed_hash: bytes) -> str | None:
        row = (
            self._c()
            .execute("SELECT party FROM bindings WHERE keyed_hash = ?", (keyed_hash,))
            .fetchone()
        )
        return str(row[0]) if row else None

    def bind(self, keyed_hash: bytes, party_id: str) -> None:
        self._c().execute(
            "INSERT INTO bindings (keyed_hash, party) VALUES (?, ?)", (keyed_hash, party_id)
        )


class WriteCache:
    """Projection rows the writer has read or written, kept across transactions.

    Every write goes through the cache (write-through), so it stays exact as long as
    this connection is the only writer; the store clears it when another connection
    committed (SQLite: ``PRAGMA data_version``; PostgreSQL: a commit counter) and after
    a rollback.
    """

    MAX_ROWS = 500_000

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.names: dict[str, int] = {}
        self.clear()

    def clear(self) -> None:
        self.rows = {t: {} for t in ("party", "class", "scenario", "asset", "grant")}
        self.names = {}

    def get(self, table: str, key: str, load: Any) -> Any:
        rows = self.rows[table]
        try:
            return rows[key]
        except KeyError:
            if len(rows) >= self.MAX_ROWS:
                rows.clear()
            value = rows[key] = load(key)
            return value

    def put(self, table: str, key: str, value: Any) -> None:
        self.rows[table][key] = value


_GRANT_USED = "UPDATE grants SET uses = ? WHERE id = ?"
# The next id is max + 1, given explicitly (SQLite's rowid rule, spelled out): the writers
# are serialized, and a rolled-back batch leaves no gap (a PostgreSQL sequence would), so
# a rebuild by verify numbers the names exactly as the live store did.
_ADD_NAME = (
    "INSERT INTO names (id, name) SELECT COALESCE(MAX(id), 0) + 1, ? FROM names RETURNING id"
)
_PUT_CLASS = upsert("classes", "id, def, seq", "id")
_PUT_SCENARIO = upsert("scenarios", "id, def, seq", "id")
_PUT_ASSET = upsert("assets", _ASSET, "id")
_PUT_GRANT = upsert("grants", _GRANT, "id")
_ADD_ACCESS = (
    "INSERT INTO access (seq, ts, counter, holder, asset, class, issuer, grant_id, "
    "purpose, outcome, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class ProjectionWrites(ProjectionReads):
    """Writes inside one transaction, through the store's `WriteCache`."""

    _cache: WriteCache

    def _defer(self, sql: str, params: tuple[Any, ...]) -> None:
        """Run a write whose effect nothing reads back before the next query (the
        store's writer batches them: see `chainledger.store.sqlite._Writer`)."""
        self._c().execute(sql, params)

    def catalog_class(self, class_id: str) -> dict[str, Any] | None:
        return cast_opt(self._cache.get("class", class_id, super().catalog_class))

    def scenario(self, scenario_id: str) -> dict[str, Any] | None:
        return cast_opt(self._cache.get("scenario", scenario_id, super().scenario))

    def asset(self, asset_id: str) -> AssetRow | None:
        row: AssetRow | None = self._cache.get("asset", asset_id, super().asset)
        return row

    def grant(self, grant_id: str) -> GrantRow | None:
        row: GrantRow | None = self._cache.get("grant", grant_id, super().grant)
        return row

    def grant_used(self, grant_id: str, uses: int) -> None:
        grant = self.grant(grant_id)
        assert grant is not None
        self._defer(_GRANT_USED, (uses, grant_id))
        g = grant  # positional construction: dataclasses.replace is slow on this hot path
        self._cache.put(
            "grant",
            grant_id,
            GrantRow(
                g.id, g.holder, g.grantee, g.scenario, g.purpose, g.scope, g.assets,
                g.not_before, g.expires, g.max_uses, uses, g.secret_hash, g.status, g.seq,
            ),
        )  # fmt: skip

    def _intern(self, name: str | None) -> int | None:
        if name is None:
            return None
        cache = self._cache.names
        name_id = cache.get(name)
        if name_id is None:
            c = self._c()
            row = c.execute("SELECT id FROM names WHERE name = ?", (name,)).fetchone()
            if row is None:
                row = c.execute(_ADD_NAME, (name,)).fetchone()
            name_id = cache[name] = int(row[0])
        return int(name_id)

    def put_class(self, class_id: str, definition: dict[str, Any], seq: int) -> None:
        self._cache.put("class", class_id, definition)
        self._c().execute(_PUT_CLASS, (class_id, canonical_text(definition), seq))

    def put_scenario(self, scenario_id: str, definition: dict[str, Any], seq: int) -> None:
        self._cache.put("scenario", scenario_id, definition)
        self._c().execute(_PUT_SCENARIO, (scenario_id, canonical_text(definition), seq))

    def put_asset(self, row: AssetRow) -> None:
        self._cache.put("asset", row.id, row)
        self._c().execute(
            _PUT_ASSET,
            (
                row.id, row.cls, row.holder, row.issuer, row.status, row.valid_from,
                row.valid_until, row.seq, row.authorized_seq,
            ),
        )  # fmt: skip

    def put_grant(self, row: GrantRow) -> None:
        self._cache.put("grant", row.id, row)
        self._c().execute(
            _PUT_GRANT,
            (
                row.id, row.holder, row.grantee, row.scenario, row.purpose,
                canonical_text(row.scope),
                canonical_text(row.assets) if row.assets is not None else None,
                row.not_before, row.expires, row.max_uses, row.uses, row.secret_hash,
                row.status, row.seq,
            ),
        )  # fmt: skip

    def add_access(self, row: AccessRow) -> None:
        i = self._intern
        self._defer(
            _ADD_ACCESS,
            (
                row.seq, ts_ms(row.ts), i(row.counter), i(row.holder), i(row.asset),
                i(row.cls), i(row.issuer), i(row.grant), i(row.purpose),
                OUTCOMES[row.outcome], i(row.reason),
            ),
        )  # fmt: skip

    def vault_put(self, record: VaultRecord) -> None:
        self._c().execute(
            "INSERT INTO vault (asset, wrapped_key, nonce, ciphertext) VALUES (?, ?, ?, ?)",
            (record.asset, record.wrapped_key, record.nonce, record.ciphertext),
        )

    def vault_destroy(self, asset_id: str) -> None:
        self._c().execute("DELETE FROM vault WHERE asset = ?", (asset_id,))
