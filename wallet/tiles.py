"""Verifying the log from its static tiles (c2sp.org/tlog-tiles), without its API.

A tile source is a URL prefix that any static file server or CDN serves (``http(s)://``),
or a directory (a path or ``file://`` URL), as ``chainledger tiles`` writes it. Nothing it
serves is trusted:

* ``checkpoint`` must carry the signature of the log key this wallet pinned (the same
  pin as `wallet.client.LedgerClient`, in ``trust.json``), and must be consistent with
  the last checkpoint this wallet verified (a consistency proof built from the tiles),
  which it then replaces;
* the hash suite is the one entry 0 (the genesis) names, itself proved included;
* an entry's bytes come from its entry bundle and are proved to be that leaf of the
  checkpoint's tree by an inclusion proof built from the hash tiles
  (`chainledger.tiles.TileReader`, checked by `chainledger.proofs`).

A failed check is `AttackDetected`; a source that cannot be read is `TileSourceError`
(a missing tile: `chainledger.tiles.TileNotFound`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from chainledger.checkpoint import Checkpoint, open_checkpoint
from chainledger.crypto import SUITES
from chainledger.entry import Entry, decode_entry
from chainledger.errors import ChainledgerError, MalformedInput, SchemaError, VerificationError
from chainledger.note import Verifier, parse_verifier_key
from chainledger.rules import genesis_fields
from chainledger.tiles import CHECKPOINT_PATH, MAX_ENTRY_BYTES, TILE_WIDTH, TileNotFound, TileReader
from wallet.client import AttackDetected, TrustStore

__all__ = ["TileClient", "TileSourceError", "TileView", "tile_fetcher"]

#: The largest resource a tile source may answer: a full entry bundle of maximal entries.
MAX_RESOURCE_BYTES = TILE_WIDTH * (2 + MAX_ENTRY_BYTES)


class TileSourceError(ChainledgerError):
    """The tile source cannot be read (no such directory, unreachable, an HTTP error)."""

    code = "tiles_unavailable"


def _http_fetcher(url: str, http: httpx.Client) -> Callable[[str], bytes]:
    def fetch(path: str) -> bytes:
        try:
            with http.stream("GET", f"{url}/{path}") as r:
                if r.status_code == 404:
                    raise TileNotFound(path, url)
                if r.status_code != 200:
                    raise TileSourceError(f"{url}/{path} answered HTTP {r.status_code}")
                data = bytearray()
                for chunk in r.iter_bytes():
                    data += chunk
                    if len(data) > MAX_RESOURCE_BYTES:
                        raise AttackDetected(f"{url}/{path} is larger than any tile or bundle")
                return bytes(data)
        except httpx.TransportError as exc:
            raise TileSourceError(f"cannot reach {url}: {type(exc).__name__}") from None

    return fetch


def _dir_fetcher(root: Path) -> Callable[[str], bytes]:
    if not root.is_dir():
        raise TileSourceError(f"no tiles directory at {root}")

    def fetch(path: str) -> bytes:
        try:
            return (root / path).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            raise TileNotFound(path, str(root)) from None

    return fetch


def tile_fetcher(source: str, http: httpx.Client) -> Callable[[str], bytes]:
    """``fetch(path)`` for a source: an ``http(s)://`` URL prefix (through ``http``), a
    ``file://`` URL or a directory path."""
    scheme = urlsplit(source).scheme.lower()
    if scheme in ("http", "https"):
        return _http_fetcher(source.rstrip("/"), http)
    if scheme == "file":
        return _dir_fetcher(Path(unquote(urlsplit(source).path)))
    if scheme and len(scheme) > 1:  # one letter: a Windows drive, i.e. a path
        raise MalformedInput("tiles source", f"unknown scheme {scheme!r} (http, https, file)")
    return _dir_fetcher(Path(source))


@dataclass(frozen=True, slots=True)
class TileView:
    """A verified checkpoint from the tiles, the last one this wallet had verified before
    (None the first time), and the tree of that checkpoint read from the tiles."""

    note: str
    checkpoint: Checkpoint
    previous: Checkpoint | None
    reader: TileReader

    def entry(self, seq: int) -> Entry:
        """Entry ``seq`` from its bundle, proved included in this checkpoint's tree."""
        return _proved_entry(self.reader, self.checkpoint, seq)


def _proved_entry(reader: TileReader, cp: Checkpoint, seq: int) -> Entry:
    try:
        entry = decode_entry(reader.verified_entry(seq, cp.root))
    except (VerificationError, MalformedInput, SchemaError) as exc:
        raise AttackDetected(
            f"entry {seq} from the tiles is not leaf {seq} of the signed tree of size "
            f"{cp.size} (an altered tile or entry bundle): {exc}"
        ) from None
    if entry.seq != seq:
        raise AttackDetected(f"leaf {seq} of the signed tree says it is entry {entry.seq}")
    return entry


class TileClient:
    """Reads and verifies one log's tiles. ``vkey`` is the log's verifier key; without
    it, the key this wallet pinned (a static source serves no key to pin)."""

    def __init__(
        self,
        source: str,
        trust: TrustStore,
        *,
        vkey: str | None = None,
        http: httpx.Client | None = None,
        timeout: float = 30.0,
    ) -> None:
        if vkey is not None:
            parse_verifier_key(vkey)  # a malformed key is a mistake, not an attack
        pinned = trust.load().get("vkey")
        if vkey is not None and pinned is not None and vkey != pinned:
            raise AttackDetected("the given verifier key is not the one this wallet pinned")
        key = vkey or pinned
        if not isinstance(key, str):
            raise MalformedInput(
                "verifier key",
                "none pinned: give the log's --vkey, or run `wallet checkpoint` once",
            )
        self.vkey = key
        self.source = source
        self.trust = trust
        self.http = http or httpx.Client(timeout=timeout, follow_redirects=True)
        fetch = tile_fetcher(source, self.http)
        cache: dict[str, bytes] = {}

        def cached(path: str) -> bytes:
            if path not in cache:
                cache[path] = fetch(path)
            return cache[path]

        self.fetch = cached

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> TileClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def verifier(self) -> Verifier:
        return parse_verifier_key(self.vkey)

    def _open(self, note: str | bytes, what: str) -> Checkpoint:
        try:
            return open_checkpoint(note, [self.verifier]).checkpoint
        except (VerificationError, MalformedInput) as exc:
            raise AttackDetected(f"{what} is not signed by the pinned log key: {exc}") from None

    def _reader(self, cp: Checkpoint) -> TileReader:
        """The tree of ``cp`` with the hash suite its genesis entry names: read with
        either suite, then proved included under that suite (a false genesis cannot
        lead to the signed root)."""
        if cp.size == 0:
            return TileReader(self.fetch, 0)
        try:
            genesis = decode_entry(TileReader(self.fetch, cp.size).entry(0))
            origin, suite_name, _ = genesis_fields(genesis.statement)
        except (VerificationError, MalformedInput, SchemaError) as exc:
            raise AttackDetected(f"entry 0 in the tiles is not a genesis entry: {exc}") from None
        if genesis.kind != "genesis" or origin != cp.origin:
            raise AttackDetected(f"entry 0 in the tiles is not the genesis of {cp.origin}")
        reader = TileReader(self.fetch, cp.size, suite=SUITES[suite_name])
        _proved_entry(reader, cp, 0)
        return reader

    def checkpoint(self) -> TileView:
        """The tiles' checkpoint, verified, proved consistent with the last one this wallet
        verified (from the tiles or the API), and remembered in its place."""
        note = self.fetch(CHECKPOINT_PATH)
        cp = self._open(note, f"{self.source}/{CHECKPOINT_PATH}")
        reader = self._reader(cp)
        state = self.trust.load()
        last = state.get("checkpoint")
        previous = self._open(last, "the remembered checkpoint") if isinstance(last, str) else None
        if previous is not None:
            _check_extends(previous, cp, reader)
        text = note.decode("utf-8")  # open_checkpoint accepted it: valid UTF-8
        state["vkey"] = self.vkey
        state["checkpoint"] = text
        self.trust.save(state)
        return TileView(text, cp, previous, reader)


def _check_extends(older: Checkpoint, newer: Checkpoint, reader: TileReader) -> None:
    """`AttackDetected` unless ``newer`` (whose tree ``reader`` reads) extends ``older``."""
    if newer.size < older.size:
        raise AttackDetected(f"rollback: the log shrank from {older.size} to {newer.size} entries")
    if newer.size == older.size and newer.root != older.root:
        raise AttackDetected(f"fork: two different trees of size {newer.size}")
    if older.size in (0, newer.size):
        return
    try:
        reader.consistency_proof(older.size).verify(older.root, newer.root, suite=reader.suite)
    except VerificationError as exc:
        raise AttackDetected(
            f"fork: the tree of size {newer.size} in the tiles does not extend the one of "
            f"size {older.size} this wallet saw ({exc})"
        ) from None
