"""Static log tiles (c2sp.org/tlog-tiles): the log as files any static server or CDN serves.

Layout under a directory (the log's URL *prefix*), as the spec's "APIs" section lays it:

* ``checkpoint``: the latest signed checkpoint (C2SP signed note; "Checkpoints"). Mutable.
* ``tile/<L>/<N>[.p/<W>]``: hash tiles ("Merkle Tree"). Tile N of level L holds the
  Merkle tree hashes MTH(D[(N*256 + i) * 256**L : (N*256 + i + 1) * 256**L]), i < W:
  the complete subtrees of height 8L, which the store already keeps (`NodeKey`
  (8L, N*256 + i)), so tiles are read straight from stored nodes, never recomputed.
  A full tile is 256 hashes (8,192 bytes); the rightmost tile of a level is partial
  ("Partial Tiles": width floor(size / 256**L) mod 256, suffix ``.p/<W>``).
* ``tile/entries/<N>[.p/<W>]``: entry bundles ("Log entries"): each entry as a big-endian
  uint16 length, then its bytes; entry bytes are exactly what the leaf hash covers
  (an entry's canonical bytes), so ``leaf_hash(entry)`` is the level-0 tile's hash.

<N> is written in 3-digit groups, all but the last prefixed ``x`` (1234067 ->
``x001/x234/067``), so a plain filesystem holds and serves it. Full tiles and bundles never
change; a partial one is superseded by a wider one or by the full one.

The spec fixes SHA-256. A ledger created with SM3 (`chainledger.crypto`) publishes the
same layout with SM3 hashes: our `TileReader` takes the suite; generic tlog-tiles clients
(which hash with SHA-256) cannot verify such a log.

`write_tiles` is the log side (incremental, atomic, checkpoint last); `TileReader` the
client side: given ``fetch(path) -> bytes`` it reads tiles and bundles and builds RFC 9162
proofs for one checkpoint's size, checked by the repository's own verifiers
(`chainledger.proofs`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from chainledger.checkpoint import Checkpoint, parse_checkpoint_body, parse_note
from chainledger.crypto import SUITES, HashSuite
from chainledger.errors import (
    ChainledgerError,
    Conflict,
    InvalidChallenge,
    LedgerCorrupt,
    MalformedInput,
    NotFound,
    VerificationError,
)
from chainledger.merkle import (
    HASH_SIZE,
    NodeKey,
    consistency_ranges,
    inclusion_ranges,
    range_hash,
)
from chainledger.merkle import root as merkle_root
from chainledger.proofs import ConsistencyProof, InclusionProof
from chainledger.store.base import CheckpointRow

__all__ = [
    "CHECKPOINT_PATH",
    "MAX_ENTRY_BYTES",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "BadEntryBundle",
    "BadTile",
    "EntryTooLarge",
    "Fetch",
    "TileNotFound",
    "TileReader",
    "TileStore",
    "TilesConflict",
    "TilesResult",
    "decode_bundle",
    "encode_bundle",
    "entries_path",
    "index_path",
    "tile_path",
    "tile_width",
    "write_tiles",
]

#: tlog-tiles "Merkle Tree": tiles are subtrees of height 8, 256 hashes wide.
TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
#: tlog-tiles "Log entries": an entry's length is a big-endian uint16.
MAX_ENTRY_BYTES = 0xFFFF
CHECKPOINT_PATH = "checkpoint"
_MAX_LEVEL = 63  # tlog-tiles: <L> is between 0 and 63
_SHA256 = SUITES["sha256"]


# --- errors ------------------------------------------------------------------------------------


class EntryTooLarge(ChainledgerError):
    """An entry longer than 65,535 bytes cannot go into an entry bundle (uint16 length)."""

    code = "entry_too_large"

    def __init__(self, seq: int, size: int) -> None:
        super().__init__(
            f"entry {seq} is {size} bytes; tlog-tiles entry bundles carry at most {MAX_ENTRY_BYTES}"
        )
        self.seq = seq
        self.size = size


class TilesConflict(Conflict):
    """The output directory holds tiles that are not this ledger's (another log, a
    fork, or a larger tree than the ledger's): nothing is overwritten."""

    code = "tiles_conflict"


class TileNotFound(NotFound):
    """``fetch`` found no resource at ``path`` (HTTP 404, no such file)."""

    code = "tile_not_found"

    def __init__(self, path: str, where: str = "") -> None:
        super().__init__(f"{where or 'the tile source'} has no {path}")
        self.path = path


class BadTile(VerificationError):
    """A hash tile whose length is not 32 bytes per hash of its width."""

    code = "bad_tile"

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path} {reason}")
        self.path = path


class BadEntryBundle(VerificationError):
    """An entry bundle that does not decode to exactly its width of entries."""

    code = "bad_entry_bundle"

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"entry bundle {path} {reason}")
        self.path = path


# --- paths and shapes --------------------------------------------------------------------------


def index_path(index: int) -> str:
    """<N> of tlog-tiles "Merkle Tree": 3-digit groups, all but the last prefixed ``x``."""
    if index < 0:
        raise MalformedInput("tile index", "must be non-negative")
    path = f"{index % 1000:03d}"
    index //= 1000
    while index:
        path = f"x{index % 1000:03d}/{path}"
        index //= 1000
    return path


def _suffix(width: int) -> str:
    if not 1 <= width <= TILE_WIDTH:
        raise MalformedInput("tile width", f"must be 1 to {TILE_WIDTH}, not {width}")
    return "" if width == TILE_WIDTH else f".p/{width}"


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """``tile/<L>/<N>[.p/<W>]``: hash tile ``index`` of ``level``, full or of ``width``."""
    if not 0 <= level <= _MAX_LEVEL:
        raise MalformedInput("tile level", f"must be 0 to {_MAX_LEVEL}, not {level}")
    return f"tile/{level}/{index_path(index)}{_suffix(width)}"


def entries_path(index: int, width: int = TILE_WIDTH) -> str:
    """``tile/entries/<N>[.p/<W>]``: entry bundle ``index``, full or of ``width``."""
    return f"tile/entries/{index_path(index)}{_suffix(width)}"


def _level_counts(size: int) -> Iterator[tuple[int, int]]:
    """(level, number of level-8L hashes) for every level that has a tile, from level 0."""
    level = 0
    while count := size >> (TILE_HEIGHT * level):
        yield level, count
        level += 1


def tile_width(size: int, level: int, index: int) -> int:
    """Width of tile ``index`` at ``level`` in the tree of ``size``: 256 for a full tile,
    1-255 for the partial one ("Partial Tiles"), 0 if the tree has no such tile."""
    count = size >> (TILE_HEIGHT * level)
    full = count >> TILE_HEIGHT
    if index < full:
        return TILE_WIDTH
    return count % TILE_WIDTH if index == full else 0


# --- entry bundles -----------------------------------------------------------------------------


def encode_bundle(entries: Iterable[bytes]) -> bytes:
    """Entries as one bundle: each a big-endian uint16 length, then its bytes."""
    out = bytearray()
    for data in entries:
        if len(data) > MAX_ENTRY_BYTES:
            raise MalformedInput("entry", f"{len(data)} bytes do not fit a uint16 length")
        out += len(data).to_bytes(2, "big") + data
    return bytes(out)


def decode_bundle(data: bytes, width: int, path: str = "") -> list[bytes]:
    """The ``width`` entries of a bundle; `BadEntryBundle` unless it holds exactly those."""
    out: list[bytes] = []
    pos = 0
    while pos < len(data):
        if len(out) == width:
            raise BadEntryBundle(path, f"has bytes after its {width} entries")
        if pos + 2 > len(data):
            raise BadEntryBundle(path, f"ends inside the length of entry {len(out)}")
        n = int.from_bytes(data[pos : pos + 2], "big")
        if pos + 2 + n > len(data):
            raise BadEntryBundle(path, f"ends inside entry {len(out)}")
        out.append(data[pos + 2 : pos + 2 + n])
        pos += 2 + n
    if len(out) != width:
        raise BadEntryBundle(path, f"holds {len(out)} entries, not {width}")
    return out


# --- the log side: writing ---------------------------------------------------------------------


class TileStore(Protocol):
    """What `write_tiles` reads from a store (`chainledger.store.base.LogReader` has it)."""

    def latest_checkpoint(self) -> CheckpointRow | None: ...

    def checkpoint(self, size: int) -> CheckpointRow | None: ...

    def entries(self, start: int, end: int) -> Iterator[tuple[int, bytes]]: ...

    def nodes(self, keys: Iterable[NodeKey]) -> dict[NodeKey, bytes]: ...


@dataclass(frozen=True, slots=True)
class TilesResult:
    """What one `write_tiles` run did: the published tree, and the files (paths relative
    to the output directory) it wrote and removed."""

    size: int
    root: bytes
    written: tuple[str, ...]
    removed: tuple[str, ...]


def _published(store: TileStore, note: str) -> Checkpoint:
    """The checkpoint of ``note``, which must be one this store signed."""
    cp = parse_checkpoint_body(parse_note(note).text, hash_size=None)
    row = store.checkpoint(cp.size)
    if row is None or row.root != cp.root:
        raise MalformedInput("checkpoint", f"of size {cp.size} is not one this ledger signed")
    return cp


@dataclass
class _Writer:
    """Atomic writes under ``out``: a temporary file in the same directory, renamed over
    the target (POSIX rename is atomic), so a client never reads half a file."""

    out: Path
    durable: bool
    written: list[str] = field(default_factory=list)
    _dirs: set[Path] = field(default_factory=set)

    def put(self, rel: str, data: bytes, *, immutable: bool = True) -> None:
        """Write ``data`` at ``rel`` unless it is already there. An immutable file (a tile,
        a bundle) that exists with other bytes is another log's: `TilesConflict`."""
        path = self.out / rel
        try:
            old = path.read_bytes()
        except FileNotFoundError:
            old = None
        if old == data:
            return
        if old is not None and immutable:
            raise TilesConflict(
                f"{path} differs from this ledger's {rel}: {self.out} holds another log's tiles"
            )
        parent = path.parent
        parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                os.fchmod(f.fileno(), 0o644)  # public data, for whichever user serves it
                if self.durable:
                    f.flush()
                    os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        self.written.append(rel)
        while parent != self.out.parent and parent not in self._dirs:
            self._dirs.add(parent)  # its new entry, and each new directory up to ``out``
            parent = parent.parent

    def sync(self) -> None:
        """Make every rename so far durable (fsync each directory touched, deepest first)."""
        if self.durable:
            for d in sorted(self._dirs, key=lambda p: len(p.parts), reverse=True):
                fd = os.open(d, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        self._dirs.clear()


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """One writer per directory: two runs racing could publish an older checkpoint last."""
    fd = os.open(out, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise TilesConflict(f"another process is writing tiles to {out}") from None
        yield
    finally:
        os.close(fd)  # releases the lock


def _already_published(store: TileStore, out: Path, cp: Checkpoint) -> int:
    """The tree size of the checkpoint already in ``out`` (0 if none), after checking it is
    this ledger's and not ahead of ``cp``: every tile it needs was written before it."""
    path = out / CHECKPOINT_PATH
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return 0
    try:
        old = parse_checkpoint_body(parse_note(text).text, hash_size=None)
    except MalformedInput as exc:
        raise TilesConflict(f"{path} is not a checkpoint ({exc})") from None
    if old.origin != cp.origin:
        raise TilesConflict(f"{out} holds the tiles of {old.origin!r}, not of {cp.origin!r}")
    if old.size > cp.size:
        raise TilesConflict(
            f"{out} holds a tree of {old.size} entries, larger than the ledger's {cp.size}"
        )
    row = store.checkpoint(old.size)
    if row is None or row.root != old.root:
        raise TilesConflict(f"{out} holds a tree of {old.size} entries that is not this ledger's")
    return old.size


def _hash_tile(store: TileStore, level: int, index: int, width: int) -> bytes:
    first = index * TILE_WIDTH
    keys = [(TILE_HEIGHT * level, first + i) for i in range(width)]
    found = store.nodes(keys)
    missing = [k for k in keys if k not in found]
    if missing:
        lv, i = missing[0]
        raise LedgerCorrupt(((i + 1) << lv) - 1, f"stored Merkle node ({lv}, {i}) is missing")
    return b"".join(found[k] for k in keys)


def _bundle(store: TileStore, index: int, width: int) -> bytes:
    first = index * TILE_WIDTH
    rows = list(store.entries(first, first + width))
    for expected, (seq, data) in enumerate(rows, start=first):
        if seq != expected:
            raise LedgerCorrupt(expected, "entry is missing")
        if len(data) > MAX_ENTRY_BYTES:
            raise EntryTooLarge(seq, len(data))
    if len(rows) != width:
        raise LedgerCorrupt(first + len(rows), "entry is missing")
    return encode_bundle(data for _, data in rows)


def write_tiles(
    store: TileStore,
    out_dir: Path | str,
    *,
    checkpoint: str | None = None,
    keep_partials: bool = False,
    durable: bool = True,
) -> TilesResult:
    """Write (or bring up to date) the tlog-tiles tree of the latest checkpoint in ``out_dir``.

    ``checkpoint`` is the signed note to publish (e.g. with witness cosignatures, as
    `Ledger.checkpoint` gives it); it must be a checkpoint this store signed. Default: the
    latest stored note, byte-exact.

    Incremental: a run writes only files that are not there yet. The tiles of the tree
    whose checkpoint is already in ``out_dir`` (checked to be this ledger's) are taken as
    present, since they were written before it; any other file already present must hold
    exactly this ledger's bytes (else `TilesConflict`, nothing overwritten). Every file is written
    atomically and, when ``durable``, fsynced with its directory; the checkpoint is
    written last, so a client never reads a checkpoint whose tiles are missing.

    Partial tiles and bundles superseded by a full one written in this run are then
    removed, unless ``keep_partials`` (the spec lets a log delete them once the full tile
    exists; a client holding an older checkpoint falls back to the full tile, whose
    prefix is the same bytes). Partial tiles superseded only by a wider partial one are
    kept until their full tile exists: clients may still ask for them.

    Raises `NotFound` before the first checkpoint, `TilesConflict` (another writer, or
    another log's tiles in ``out_dir``), `EntryTooLarge`, `LedgerCorrupt`, `OSError`.
    """
    out = Path(out_dir).absolute()
    if checkpoint is None:
        latest = store.latest_checkpoint()
        if latest is None:
            raise NotFound("the ledger has no checkpoint yet")
        checkpoint = latest.note
    cp = _published(store, checkpoint)
    out.mkdir(parents=True, exist_ok=True)
    with _locked(out):
        published = _already_published(store, out, cp)
        writer = _Writer(out, durable)
        completed: list[tuple[int, int]] = []  # (level, index) of full tiles new to ``out``
        # The tree already published needs no tile: at most its checkpoint note changed.
        for level, count in _level_counts(cp.size if published < cp.size else 0):
            full, partial = divmod(count, TILE_WIDTH)
            widths = [(i, TILE_WIDTH) for i in range(_first_missing(published, level), full)]
            if partial:
                widths.append((full, partial))
            for index, width in widths:
                if level == 0:
                    writer.put(entries_path(index, width), _bundle(store, index, width))
                writer.put(tile_path(level, index, width), _hash_tile(store, level, index, width))
                if width == TILE_WIDTH:
                    completed.append((level, index))
        writer.sync()
        writer.put(CHECKPOINT_PATH, checkpoint.encode("utf-8"), immutable=False)
        writer.sync()
        removed = [] if keep_partials else _remove_partials(out, completed)
    return TilesResult(cp.size, cp.root, tuple(writer.written), tuple(removed))


def _first_missing(published: int, level: int) -> int:
    """The first full tile of ``level`` that the tree of size ``published`` lacks."""
    return (published >> (TILE_HEIGHT * level)) >> TILE_HEIGHT


def _remove_partials(out: Path, completed: Sequence[tuple[int, int]]) -> list[str]:
    removed: list[str] = []
    for level, index in completed:
        paths = [tile_path(level, index, 1)]
        if level == 0:
            paths.append(entries_path(index, 1))
        for rel in paths:
            partials = (out / rel).parent  # tile/<L>/<N>.p: every partial width of the tile
            if partials.is_dir():
                removed.extend(
                    sorted(str(p.relative_to(out)) for p in partials.iterdir() if p.is_file())
                )
                shutil.rmtree(partials)
    return removed


# --- the client side: reading ------------------------------------------------------------------

#: ``fetch(path)``: the bytes of the resource at ``path`` under the log's prefix, or
#: `TileNotFound` if there is none.
Fetch = Callable[[str], bytes]


class TileReader:
    """The tree of one checkpoint's ``size``, read from tiles through ``fetch``.

    Clients must only ask for partial tiles that a verified checkpoint's size requires
    (tlog-tiles "Partial Tiles"): check the checkpoint's signature before reading. A
    partial tile that is gone is read as the prefix of its full tile, as the spec allows.

    Nothing read here is trusted: proofs built from tiles are checked by
    `chainledger.proofs` against the checkpoint's root (`verified_entry`, or
    `InclusionProof.verify` / `ConsistencyProof.verify`), so an altered tile or bundle
    fails as `chainledger.merkle.RootMismatch`; a tile of the wrong length is a `BadTile`,
    a malformed bundle a `BadEntryBundle`.
    """

    def __init__(self, fetch: Fetch, size: int, *, suite: HashSuite = _SHA256) -> None:
        if size < 0:
            raise InvalidChallenge(f"no tree of size {size}")
        self.fetch = fetch
        self.size = size
        self.suite = suite
        self._tiles: dict[tuple[int, int], bytes] = {}
        self._bundles: dict[int, list[bytes]] = {}

    def _get(self, path_of: Callable[[int], str], width: int) -> tuple[str, bytes, int]:
        """(path, bytes, width read): the partial resource, else its full one."""
        if width == TILE_WIDTH:
            path = path_of(TILE_WIDTH)
            return path, self.fetch(path), TILE_WIDTH
        path = path_of(width)
        try:
            return path, self.fetch(path), width
        except TileNotFound as missing:
            full = path_of(TILE_WIDTH)
            try:
                return full, self.fetch(full), TILE_WIDTH
            except TileNotFound:
                raise missing from None

    def _width(self, level: int, index: int) -> int:
        width = tile_width(self.size, level, index)
        if width == 0:
            raise InvalidChallenge(f"the tree of size {self.size} has no tile {level}/{index}")
        return width

    def hash_tile(self, level: int, index: int) -> bytes:
        """The hashes of tile ``index`` at ``level``, as wide as this tree has it."""
        key = (level, index)
        if key not in self._tiles:
            width = self._width(level, index)
            path, data, got = self._get(lambda w: tile_path(level, index, w), width)
            if len(data) != got * HASH_SIZE:
                raise BadTile(path, f"is {len(data)} bytes, not {got * HASH_SIZE}")
            self._tiles[key] = data[: width * HASH_SIZE]
        return self._tiles[key]

    def bundle(self, index: int) -> list[bytes]:
        """The entries of bundle ``index``, as many as this tree has."""
        if index not in self._bundles:
            width = self._width(0, index)
            path, data, got = self._get(lambda w: entries_path(index, w), width)
            self._bundles[index] = decode_bundle(data, got, path)[:width]
        return self._bundles[index]

    def entry(self, seq: int) -> bytes:
        """Entry ``seq``'s bytes from its bundle (unverified: see `verified_entry`)."""
        if not 0 <= seq < self.size:
            raise InvalidChallenge(f"entry {seq} is not in a tree of size {self.size}")
        return self.bundle(seq >> TILE_HEIGHT)[seq % TILE_WIDTH]

    def node(self, level: int, index: int) -> bytes:
        """The hash of the complete subtree (level, index), from the tile holding its
        level-8L descendants (the spec: levels inside a tile are rebuilt by hashing)."""
        if index < 0 or (index + 1) << level > self.size:
            raise InvalidChallenge(f"the tree of size {self.size} has no node ({level}, {index})")
        tile_level, height = divmod(level, TILE_HEIGHT)
        first = index << height  # the first level-8L hash under this node
        tile = self.hash_tile(tile_level, first >> TILE_HEIGHT)
        offset = first % TILE_WIDTH
        hashes = [
            tile[i * HASH_SIZE : (i + 1) * HASH_SIZE] for i in range(offset, offset + (1 << height))
        ]
        return merkle_root(hashes, suite=self.suite)

    def _hashes(self, ranges: list[tuple[int, int]]) -> tuple[bytes, ...]:
        return tuple(range_hash(lo, hi, self.node, suite=self.suite) for lo, hi in ranges)

    def root(self) -> bytes:
        """MTH of the tree, from its tiles (RFC 9162 section 2.1.1)."""
        return self._hashes([(0, self.size)])[0]

    def inclusion_proof(self, index: int) -> InclusionProof:
        """RFC 9162 section 2.1.3 inclusion proof of leaf ``index`` in this tree."""
        return InclusionProof(index, self.size, self._hashes(inclusion_ranges(index, self.size)))

    def consistency_proof(self, first: int) -> ConsistencyProof:
        """RFC 9162 section 2.1.4 consistency proof from size ``first`` to this tree."""
        ranges = consistency_ranges(first, self.size)
        return ConsistencyProof(first, self.size, self._hashes(ranges))

    def verified_entry(self, seq: int, root: bytes) -> bytes:
        """Entry ``seq``'s bytes, proved to be leaf ``seq`` of this tree whose root is
        ``root`` (a verified checkpoint's) by an inclusion proof built from the tiles."""
        data = self.entry(seq)
        self.inclusion_proof(seq).verify_entry(data, seq, self.size, root, suite=self.suite)
        return data
