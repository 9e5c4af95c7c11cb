"""Static tiles (c2sp.org/tlog-tiles): paths, contents against a naive oracle, Tessera's own
tiles byte for byte, incremental runs, proofs from tiles, and named failures.

Large trees (up to 70,000 leaves) come from `FakeStore`: entries in memory and their
complete-subtree nodes made by `Frontier`, exactly as the sequencer stores them. The real
store is used for a ledger of a few hundred entries (SHA-256 and SM3) and by the CLI.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import hashlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from support import assert_refused, chainledger_exe

from chainledger import merkle
from chainledger.checkpoint import (
    Checkpoint,
    Signer,
    open_checkpoint,
    parse_note,
    parse_verifier_key,
    sign_checkpoint,
)
from chainledger.crypto import SUITES, generate_key
from chainledger.errors import InvalidChallenge, LedgerCorrupt, MalformedInput, NotFound
from chainledger.frontier import Frontier
from chainledger.ledger import Genesis, Ledger
from chainledger.merkle import NodeKey, RootMismatch
from chainledger.store.base import CheckpointRow
from chainledger.tiles import (
    MAX_ENTRY_BYTES,
    BadEntryBundle,
    BadTile,
    EntryTooLarge,
    TileNotFound,
    TileReader,
    TilesConflict,
    decode_bundle,
    encode_bundle,
    entries_path,
    index_path,
    tile_path,
    tile_width,
    write_tiles,
)

SHA256 = SUITES["sha256"]
ORIGIN = "tiles.example/log"
#: Tessera's POSIX log, as the shared golden vectors hold it (see tests/vectors/README.md).
TESSERA = json.loads(
    (Path(__file__).parent.parent / "vectors" / "tessera_testlog_vectors.json").read_text("utf-8")
)

# --- a store of any size, in memory ------------------------------------------------------------


class FakeStore:
    """The four reads `write_tiles` makes, over entries held in memory. ``size`` is the
    latest checkpoint (`grow` moves it); checkpoints of smaller sizes are signed on demand."""

    def __init__(self, entries: Sequence[bytes], size: int, *, origin: str = ORIGIN) -> None:
        self.data = entries
        self.signer = Signer(origin, generate_key(lambda n: b"\x07" * n))
        self.origin = origin
        self.nodes_: dict[NodeKey, bytes] = {}
        self.frontier = Frontier(SHA256)
        self.notes: dict[int, str] = {}
        self.size = 0
        self.grow(size)

    def grow(self, size: int) -> None:
        while self.frontier.size < size:
            self.nodes_.update(self.frontier.append(SHA256.leaf(self.data[self.frontier.size])))
        self.size = size

    def root(self, size: int) -> bytes:
        return merkle.range_hash(0, size, lambda lv, i: self.nodes_[(lv, i)])

    def checkpoint(self, size: int) -> CheckpointRow | None:
        if size > self.size:
            return None
        if size not in self.notes:
            cp = Checkpoint(self.origin, size, self.root(size))
            self.notes[size] = sign_checkpoint(cp, self.signer)
        return CheckpointRow(size, self.root(size), self.notes[size], "")

    def latest_checkpoint(self) -> CheckpointRow | None:
        return self.checkpoint(self.size)

    def entries(self, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        for seq in range(start, min(end, self.size)):
            yield seq, self.data[seq]

    def nodes(self, keys: Any) -> dict[NodeKey, bytes]:
        return {
            k: self.nodes_[k] for k in keys if k in self.nodes_ and (k[1] + 1) << k[0] <= self.size
        }

    def ledger(self) -> Ledger:
        """The real `Ledger` over this store: its proofs are the ones the API serves."""
        genesis = Genesis(self.origin, SHA256, self.signer.public_key)
        return Ledger(self, genesis, key=None)  # type: ignore[arg-type]


def synthetic(n: int) -> list[bytes]:
    """Entries of varied lengths, the empty entry among them."""
    return [b"e%d:" % i + b"x" * (i % 37) if i % 101 else b"" for i in range(n)]


ENTRIES = synthetic(70_000)


def directory_fetch(root: Path) -> Callable[[str], bytes]:
    def fetch(path: str) -> bytes:
        try:
            return (root / path).read_bytes()
        except FileNotFoundError:
            raise TileNotFound(path) from None

    return fetch


def files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


# --- the naive oracle: RFC 9162 section 2.1.1 over the entries, and the spec's definition ------


def mth(entries: Sequence[bytes]) -> bytes:
    """MTH(D[n]) exactly as RFC 9162 section 2.1.1 defines it (SHA-256)."""
    n = len(entries)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + mth(entries[:k]) + mth(entries[k:])).digest()


@functools.cache
def mth_of(lo: int, hi: int) -> bytes:
    """`mth` of ENTRIES[lo:hi], remembered: the large trees share most of their tiles."""
    if hi - lo <= 256:
        return mth(ENTRIES[lo:hi])
    k = 1
    while k * 2 < hi - lo:
        k *= 2
    return hashlib.sha256(b"\x01" + mth_of(lo, lo + k) + mth_of(lo + k, hi)).digest()


def oracle_tiles(size: int) -> dict[str, bytes]:
    """Every tile and bundle of the tree of ENTRIES[:size] per tlog-tiles "Merkle Tree": tile
    n of level l is MTH(D[(n*256 + i) * 256**l : (n*256 + i + 1) * 256**l]) for i < width."""
    out: dict[str, bytes] = {}
    level = 0
    while size >= 256**level:
        span = 256**level
        count = size // span  # hashes at this level
        for n in range((count + 255) // 256):
            width = min(256, count - n * 256)
            suffix = "" if width == 256 else f".p/{width}"
            name = index_path(n) + suffix
            out[f"tile/{level}/{name}"] = b"".join(
                mth_of((n * 256 + i) * span, (n * 256 + i + 1) * span) for i in range(width)
            )
            if level == 0:
                out[f"tile/entries/{name}"] = b"".join(
                    len(e).to_bytes(2, "big") + e for e in ENTRIES[n * 256 : n * 256 + width]
                )
        level += 1
    return out


# --- paths -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "path"),
    [
        (0, "000"),
        (7, "007"),
        (999, "999"),
        (1000, "x001/000"),
        (1234067, "x001/x234/067"),  # the spec's example
        (1_000_000, "x001/x000/000"),
        (2**64 - 1, "x018/x446/x744/x073/x709/x551/615"),
    ],
)
def test_index_path_golden(index: int, path: str) -> None:
    assert index_path(index) == path


def test_tile_and_bundle_paths_golden() -> None:
    assert tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tile_path(4, 1234067, 8) == "tile/4/x001/x234/067.p/8"
    assert tile_path(63, 0, 255) == "tile/63/000.p/255"
    assert entries_path(1234067) == "tile/entries/x001/x234/067"
    assert entries_path(0, 1) == "tile/entries/000.p/1"
    for path in TESSERA["level0_partial_tiles_hex"]:
        assert path == tile_path(0, 0, int(path.rsplit("/", 1)[1]))


@pytest.mark.parametrize(
    "call",
    [
        lambda: tile_path(64, 0),
        lambda: tile_path(-1, 0),
        lambda: tile_path(0, -1),
        lambda: tile_path(0, 0, 0),
        lambda: tile_path(0, 0, 257),
        lambda: entries_path(0, 0),
    ],
)
def test_paths_refuse_what_the_spec_excludes(call: Callable[[], str]) -> None:
    with pytest.raises(MalformedInput):
        call()


def test_tile_widths_of_the_spec_examples() -> None:
    # "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial
    # level 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width 17,
    # and one partial level 2 tile of width 1"
    assert [tile_width(70_000, 0, i) for i in (0, 272, 273, 274)] == [256, 256, 112, 0]
    assert [tile_width(70_000, 1, i) for i in (0, 1, 2)] == [256, 17, 0]
    assert [tile_width(70_000, 2, i) for i in (0, 1)] == [1, 0]
    assert tile_width(70_000, 3, 0) == 0
    # "a tree of size 256 will be represented by a full level 0 tile and a partial level 1
    # tile of width 1"
    assert [tile_width(256, 0, 0), tile_width(256, 0, 1), tile_width(256, 1, 0)] == [256, 0, 1]


# --- contents ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 255, 256, 257, 65535, 65536, 65537, 70_000])
def test_tiles_equal_the_naive_oracle(tmp_path: Path, size: int) -> None:
    store = FakeStore(ENTRIES, size)
    result = write_tiles(store, tmp_path, durable=False)
    expected = oracle_tiles(size)
    assert files(tmp_path) == {*expected, "checkpoint"}
    for path, data in expected.items():
        assert (tmp_path / path).read_bytes() == data, path
    assert (tmp_path / "checkpoint").read_text(encoding="utf-8") == store.notes[size]
    assert (result.size, result.root) == (size, mth_of(0, size))
    assert set(result.written) == files(tmp_path)
    assert result.removed == ()


def test_a_tree_of_70000_has_exactly_the_tiles_the_spec_lists(tmp_path: Path) -> None:
    write_tiles(FakeStore(ENTRIES, 70_000), tmp_path, durable=False)
    hashes = {p for p in files(tmp_path) if p.startswith("tile/") and "entries" not in p}
    assert len([p for p in hashes if p.startswith("tile/0/") and ".p/" not in p]) == 273
    partial_and_upper = {p for p in hashes if ".p/" in p or not p.startswith("tile/0/")}
    assert partial_and_upper == {
        "tile/0/273.p/112",
        "tile/1/000",
        "tile/1/001.p/17",
        "tile/2/000.p/1",
    }


def test_bundle_entries_hash_to_the_level_0_tile(tmp_path: Path) -> None:
    write_tiles(FakeStore(ENTRIES, 600), tmp_path, durable=False)
    for name, width in (("000", 256), ("001", 256), ("002.p/88", 88)):
        entries = decode_bundle((tmp_path / f"tile/entries/{name}").read_bytes(), width)
        tile = (tmp_path / f"tile/0/{name}").read_bytes()
        assert b"".join(SHA256.leaf(e) for e in entries) == tile


@pytest.mark.parametrize("size", list(range(1, 16)))
def test_tessera_testlog_byte_for_byte(tmp_path: Path, size: int) -> None:
    """Tessera's POSIX log wrote these tiles, bundles and checkpoints; ours are identical."""
    store = FakeStore([e.encode() for e in TESSERA["entries"]], size)
    store.notes = {int(n): note for n, note in TESSERA["checkpoints_by_size"].items()}
    result = write_tiles(store, tmp_path)
    assert sorted(result.written) == sorted(
        [f"tile/0/000.p/{size}", f"tile/entries/000.p/{size}", "checkpoint"]
    )
    assert (tmp_path / f"tile/0/000.p/{size}").read_bytes().hex() == TESSERA[
        "level0_partial_tiles_hex"
    ][f"tile/0/000.p/{size}"]
    assert (tmp_path / f"tile/entries/000.p/{size}").read_bytes().hex() == TESSERA[
        "entry_bundles_hex"
    ][f"tile/entries/000.p/{size}"]
    assert (tmp_path / "checkpoint").read_text(encoding="utf-8") == TESSERA["checkpoints_by_size"][
        str(size)
    ]


def test_reader_verifies_tesseras_own_tiles() -> None:
    """A client reading Tessera's published resources, checked with Tessera's log key."""
    served = {p: bytes.fromhex(h) for p, h in TESSERA["level0_partial_tiles_hex"].items()}
    served |= {p: bytes.fromhex(h) for p, h in TESSERA["entry_bundles_hex"].items()}

    def fetch(path: str) -> bytes:
        if path not in served:
            raise TileNotFound(path)
        return served[path]

    vkey = parse_verifier_key(TESSERA["log_vkey"])
    for size in range(1, 16):
        note = TESSERA["checkpoints_by_size"][str(size)]
        cp = open_checkpoint(note, [vkey], origin=TESSERA["origin"]).checkpoint
        reader = TileReader(fetch, size)
        assert reader.root() == cp.root
        for i in range(size):
            assert reader.verified_entry(i, cp.root) == TESSERA["entries"][i].encode()
    for proof in TESSERA["derived_proofs_for_convenience"]["inclusion"]:
        got = TileReader(fetch, proof["tree_size"]).inclusion_proof(proof["leaf_index"])
        assert [h.hex() for h in got.hashes] == proof["proof"]


def test_bundle_round_trip_and_uint16_limit() -> None:
    entries = [b"", b"a", b"\x00" * MAX_ENTRY_BYTES]
    assert decode_bundle(encode_bundle(entries), 3) == entries
    with pytest.raises(MalformedInput):
        encode_bundle([b"x" * (MAX_ENTRY_BYTES + 1)])


@pytest.mark.parametrize(
    ("data", "width", "reason"),
    [
        (b"\x00\x01a\x00", 2, "ends inside the length of entry 1"),
        (b"\x00\x05ab", 1, "ends inside entry 0"),
        (b"\x00\x01a\x00\x01b", 1, "has bytes after its 1 entries"),
        (b"\x00\x01a", 2, "holds 1 entries, not 2"),
        (b"", 1, "holds 0 entries, not 1"),
    ],
)
def test_malformed_bundles_are_named(data: bytes, width: int, reason: str) -> None:
    with pytest.raises(BadEntryBundle, match=reason):
        decode_bundle(data, width, "tile/entries/000.p/2")


# --- incremental runs --------------------------------------------------------------------------


def test_second_run_writes_only_new_files_and_keeps_full_tiles(tmp_path: Path) -> None:
    store = FakeStore(ENTRIES, 300)
    first = write_tiles(store, tmp_path, durable=False)
    assert set(first.written) == {*oracle_tiles(300), "checkpoint"}
    full = tmp_path / "tile/0/000"
    before = (full.stat().st_ino, full.stat().st_mtime_ns, full.read_bytes())

    store.grow(600)
    second = write_tiles(store, tmp_path, durable=False)
    new_files = oracle_tiles(600).keys() - oracle_tiles(300).keys()
    assert sorted(new_files) == [
        "tile/0/001",
        "tile/0/002.p/88",
        "tile/1/000.p/2",
        "tile/entries/001",
        "tile/entries/002.p/88",
    ]
    assert set(second.written) == {*new_files, "checkpoint"}
    assert second.written[-1] == "checkpoint"  # last: never ahead of its tiles
    # Superseded by the full tile 001, its partial tile and bundle are gone; the level-1
    # partial of width 1 stays until the full level-1 tile exists.
    assert sorted(second.removed) == ["tile/0/001.p/44", "tile/entries/001.p/44"]
    assert not (tmp_path / "tile/0/001.p").exists()
    assert (tmp_path / "tile/1/000.p/1").exists()
    assert (full.stat().st_ino, full.stat().st_mtime_ns, full.read_bytes()) == before
    assert files(tmp_path) == {*oracle_tiles(600), "tile/1/000.p/1", "checkpoint"}

    third = write_tiles(store, tmp_path, durable=False)
    assert (third.written, third.removed) == ((), ())


def test_keep_partials_keeps_them(tmp_path: Path) -> None:
    store = FakeStore(ENTRIES, 300)
    write_tiles(store, tmp_path, durable=False)
    store.grow(600)
    result = write_tiles(store, tmp_path, durable=False, keep_partials=True)
    assert result.removed == ()
    assert (tmp_path / "tile/0/001.p/44").exists()


def test_a_new_cosignature_rewrites_only_the_checkpoint(tmp_path: Path) -> None:
    store = FakeStore(ENTRIES, 300)
    write_tiles(store, tmp_path, durable=False)
    witness = Signer("witness.example", generate_key(lambda n: b"\x09" * n))
    note = parse_note(store.notes[300])
    cosigned = store.notes[300] + witness.sign(note.text).line()
    result = write_tiles(store, tmp_path, checkpoint=cosigned, durable=False)
    assert result.written == ("checkpoint",)
    assert (tmp_path / "checkpoint").read_text(encoding="utf-8") == cosigned


def test_a_run_after_a_crash_before_the_checkpoint_completes_it(tmp_path: Path) -> None:
    store = FakeStore(ENTRIES, 600)
    write_tiles(store, tmp_path, durable=False)
    (tmp_path / "checkpoint").unlink()  # as if the run had stopped just before it
    (tmp_path / "tile/0/001").unlink()
    result = write_tiles(store, tmp_path, durable=False)
    assert sorted(result.written) == ["checkpoint", "tile/0/001"]


# --- refusals ----------------------------------------------------------------------------------


def test_refuses_another_logs_directory(tmp_path: Path) -> None:
    write_tiles(FakeStore(ENTRIES, 300, origin="other.example/log"), tmp_path, durable=False)
    before = {p: (tmp_path / p).read_bytes() for p in files(tmp_path)}
    with pytest.raises(TilesConflict, match=r"other\.example/log"):
        write_tiles(FakeStore(ENTRIES, 600), tmp_path, durable=False)
    assert {p: (tmp_path / p).read_bytes() for p in files(tmp_path)} == before


def test_refuses_a_directory_ahead_of_the_ledger(tmp_path: Path) -> None:
    write_tiles(FakeStore(ENTRIES, 600), tmp_path, durable=False)
    with pytest.raises(TilesConflict, match="larger"):
        write_tiles(FakeStore(ENTRIES, 300), tmp_path, durable=False)


def test_refuses_a_fork_with_the_same_origin(tmp_path: Path) -> None:
    write_tiles(FakeStore(ENTRIES, 300), tmp_path, durable=False)
    forked = [b"forked", *ENTRIES[1:700]]
    with pytest.raises(TilesConflict, match="not this ledger's"):
        write_tiles(FakeStore(forked, 600), tmp_path, durable=False)


def test_refuses_foreign_tiles_without_a_checkpoint(tmp_path: Path) -> None:
    write_tiles(FakeStore([b"other", *ENTRIES[1:300]], 300), tmp_path, durable=False)
    (tmp_path / "checkpoint").unlink()
    with pytest.raises(TilesConflict, match="differs"):
        write_tiles(FakeStore(ENTRIES, 300), tmp_path, durable=False)


def test_refuses_a_checkpoint_the_store_did_not_sign(tmp_path: Path) -> None:
    store = FakeStore(ENTRIES, 5)
    for other in (FakeStore(ENTRIES[1:], 5), FakeStore(ENTRIES, 6)):  # another tree; larger
        row = other.latest_checkpoint()
        assert row is not None
        with pytest.raises(MalformedInput, match="not one this ledger signed"):
            write_tiles(store, tmp_path / "out", checkpoint=row.note)
    assert not (tmp_path / "out").exists()


def test_refuses_a_second_writer(tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(TilesConflict, match="another process"):
            write_tiles(FakeStore(ENTRIES, 10), tmp_path, durable=False)
    finally:
        os.close(fd)
    assert files(tmp_path) == set()


def test_an_entry_too_large_for_a_bundle_is_named(tmp_path: Path) -> None:
    entries = [b"a", b"b" * MAX_ENTRY_BYTES, b"c" * (MAX_ENTRY_BYTES + 1)]
    with pytest.raises(EntryTooLarge, match="entry 2 is 65536 bytes"):
        write_tiles(FakeStore(entries, 3), tmp_path, durable=False)
    assert not (tmp_path / "checkpoint").exists()
    write_tiles(FakeStore(entries, 2), tmp_path, durable=False)  # up to the last that fits


def test_a_missing_node_is_ledger_corruption(tmp_path: Path) -> None:
    store = FakeStore(ENTRIES, 300)
    del store.nodes_[(0, 17)]
    with pytest.raises(LedgerCorrupt, match=r"node \(0, 17\)"):
        write_tiles(store, tmp_path, durable=False)


def test_no_checkpoint_yet(tmp_path: Path) -> None:
    store = FakeStore([], 0)
    store.latest_checkpoint = lambda: None  # type: ignore[method-assign]
    with pytest.raises(NotFound):
        write_tiles(store, tmp_path)


# --- proofs from tiles -------------------------------------------------------------------------

#: Tree sizes whose tiles the property test reads: each written once, on first use.
BOUNDARIES = [1, 2, 3, 255, 256, 257, 511, 512, 513, 65535, 65536, 65537]


@pytest.fixture(scope="module")
def tiles_of(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], TileReader]:
    root = tmp_path_factory.mktemp("tiles")
    written: set[int] = set()

    def reader(size: int) -> TileReader:
        if size not in written:
            write_tiles(FakeStore(ENTRIES, size), root / str(size), durable=False)
            written.add(size)
        return TileReader(directory_fetch(root / str(size)), size)

    return reader


STORE = FakeStore(ENTRIES, len(ENTRIES))
LEDGER = STORE.ledger()


@settings(max_examples=60, deadline=None)
@given(
    size=st.one_of(st.sampled_from(BOUNDARIES), st.integers(1, 3000)),
    at=st.floats(0, 1, exclude_max=True),
    first_at=st.floats(0, 1),
)
@example(size=65537, at=0.99999, first_at=0.99999)
@example(size=65536, at=0.5, first_at=1.0)
def test_proofs_from_tiles_equal_the_ledgers(
    tiles_of: Callable[[int], TileReader], size: int, at: float, first_at: float
) -> None:
    reader = tiles_of(size)
    index = int(at * size)
    first = max(1, int(first_at * size))
    root = LEDGER.root(size)
    assert reader.root() == root
    inclusion = reader.inclusion_proof(index)
    assert inclusion == LEDGER.inclusion_proof(index, size)
    inclusion.verify(SHA256.leaf(ENTRIES[index]), root)
    assert reader.verified_entry(index, root) == ENTRIES[index]
    consistency = reader.consistency_proof(first)
    assert consistency == LEDGER.consistency_proof(first, size)
    consistency.verify(LEDGER.root(first), root)


def test_reader_refuses_questions_the_tree_cannot_answer(
    tiles_of: Callable[[int], TileReader],
) -> None:
    reader = tiles_of(257)
    for ask in (
        lambda: reader.entry(257),
        lambda: reader.inclusion_proof(257),
        lambda: reader.consistency_proof(0),
        lambda: reader.consistency_proof(258),
        lambda: reader.node(0, 257),
        lambda: reader.hash_tile(0, 2),
    ):
        with pytest.raises(InvalidChallenge):
            ask()


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.fixture
def published(tmp_path: Path) -> tuple[Path, bytes]:
    """The tiles of a tree of 600 entries, and its root."""
    write_tiles(FakeStore(ENTRIES, 600), tmp_path, durable=False)
    return tmp_path, LEDGER.root(600)


def test_an_altered_hash_tile_fails_inclusion_as_a_root_mismatch(
    published: tuple[Path, bytes],
) -> None:
    root_dir, root = published
    _flip(root_dir / "tile/0/000", 4 * 32)  # the sibling of leaf 5
    reader = TileReader(directory_fetch(root_dir), 600)
    with pytest.raises(RootMismatch, match="root recomputed from the proof"):
        reader.verified_entry(5, root)
    reader.verified_entry(300, root)  # a proof that does not use the altered hash


def test_an_altered_upper_tile_fails_consistency(published: tuple[Path, bytes]) -> None:
    root_dir, root = published
    _flip(root_dir / "tile/1/000.p/2", 0)  # MTH of entries 0..255
    reader = TileReader(directory_fetch(root_dir), 600)
    with pytest.raises(RootMismatch):
        reader.consistency_proof(300).verify(LEDGER.root(300), root)
    with pytest.raises(RootMismatch):
        reader.verified_entry(599, root)


def test_an_altered_entry_fails_inclusion(published: tuple[Path, bytes]) -> None:
    root_dir, root = published
    _flip(root_dir / "tile/entries/002.p/88", 5)  # inside entry 512
    with pytest.raises(RootMismatch):
        TileReader(directory_fetch(root_dir), 600).verified_entry(512, root)


def test_a_truncated_tile_and_bundle_are_named(published: tuple[Path, bytes]) -> None:
    root_dir, root = published
    tile = root_dir / "tile/0/001"
    tile.write_bytes(tile.read_bytes()[:-1])
    with pytest.raises(BadTile, match="tile/0/001 is 8191 bytes, not 8192"):
        TileReader(directory_fetch(root_dir), 600).verified_entry(300, root)
    bundle = root_dir / "tile/entries/000"
    bundle.write_bytes(bundle.read_bytes() + b"\x00")
    with pytest.raises(BadEntryBundle, match="tile/entries/000"):
        TileReader(directory_fetch(root_dir), 600).entry(0)


def test_a_missing_tile_is_named(published: tuple[Path, bytes]) -> None:
    root_dir, root = published
    (root_dir / "tile/0/001").unlink()
    with pytest.raises(TileNotFound, match="tile/0/001"):
        TileReader(directory_fetch(root_dir), 600).verified_entry(300, root)


def test_a_removed_partial_tile_is_read_from_its_full_tile(tmp_path: Path) -> None:
    store = FakeStore(ENTRIES, 300)
    write_tiles(store, tmp_path, durable=False)
    store.grow(600)  # supersedes tile/0/001.p/44 and its bundle, which are removed
    write_tiles(store, tmp_path, durable=False)
    assert not (tmp_path / "tile/0/001.p/44").exists()
    old = TileReader(directory_fetch(tmp_path), 300)  # a client still on checkpoint 300
    root = LEDGER.root(300)
    assert old.root() == root
    assert old.verified_entry(299, root) == ENTRIES[299]


# --- a real ledger: the store's nodes, SHA-256 and SM3 -----------------------------------------


@pytest.mark.parametrize("suite_name", ["sha256", "sm3"])
def test_tiles_of_a_real_ledger_give_its_own_proofs(tmp_path: Path, suite_name: str) -> None:
    suite = SUITES[suite_name]
    with Ledger.init(tmp_path / "l.db", suite_name=suite_name) as led:
        sizes = []
        for batch in range(3):
            futures = [
                led.submit(led.platform_statement("note", text=f"{batch}/{i}")) for i in range(110)
            ]
            for f in futures:
                f.result()
            sizes.append(led.size())
        size = led.size()
        result = write_tiles(led.store, tmp_path / "tiles", checkpoint=led.checkpoint())
        assert result.size == size == 331
        root = led.root()
        reader = TileReader(directory_fetch(tmp_path / "tiles"), size, suite=suite)
        assert reader.root() == root
        for i in (0, 1, 255, 256, size - 1):
            assert reader.inclusion_proof(i) == led.inclusion_proof(i)
            assert reader.verified_entry(i, root) == led.entry(i)
        for first in (1, *sizes):
            assert reader.consistency_proof(first) == led.consistency_proof(first)
        text = (tmp_path / "tiles/checkpoint").read_text(encoding="utf-8")
        assert text == led.checkpoint()
        assert open_checkpoint(text, [led.verifier]).checkpoint.root == root
    if suite_name == "sm3":  # the tiles hold SM3 hashes: a SHA-256 client cannot verify them
        with pytest.raises(RootMismatch):
            TileReader(directory_fetch(tmp_path / "tiles"), size).verified_entry(3, root)


# --- the command -------------------------------------------------------------------------------


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chainledger_exe(), *map(str, args)], capture_output=True, text=True, timeout=120
    )


def test_cli_writes_then_brings_up_to_date(tmp_path: Path) -> None:
    db, out = tmp_path / "l.db", tmp_path / "tiles"
    Ledger.init(db).close()
    first = run("tiles", "--db", db, "--out", out)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("tiles: 1 entries, root ")
    assert "wrote 3 files" in first.stdout
    assert files(out) == {"checkpoint", "tile/0/000.p/1", "tile/entries/000.p/1"}
    again = run("tiles", "--db", db, "--out", out)
    assert again.returncode == 0
    assert again.stdout.rstrip().endswith("up to date")


def test_cli_refuses_bad_input_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "tiles"
    assert_refused(run("tiles", "--db", tmp_path / "none.db", "--out", out), "no ledger")
    assert not out.exists()
    other = tmp_path / "other.db"
    Ledger.init(other, origin="other.example/log").close()
    write_tiles(FakeStore(ENTRIES, 3), out, durable=False)
    before = {p: (out / p).read_bytes() for p in files(out)}
    assert_refused(run("tiles", "--db", other, "--out", out), "tiles.example/log")
    assert {p: (out / p).read_bytes() for p in files(out)} == before


@dataclasses.dataclass
class Watch:
    """A ``chainledger tiles --watch`` child; its output and exit code once stopped."""

    proc: subprocess.Popen[str]
    stdout: str = ""
    stderr: str = ""


@contextlib.contextmanager
def watching(db: Path, out: Path, seconds: str, stop: signal.Signals) -> Iterator[Watch]:
    """``tiles --watch SECONDS`` on ``db`` for the block, then sent ``stop``, which must end
    it within 30 s (else it is killed and the test fails)."""
    proc = subprocess.Popen(
        [chainledger_exe(), "tiles", "--db", str(db), "--out", str(out), "--watch", seconds],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    watch = Watch(proc)
    try:
        yield watch
    finally:
        proc.send_signal(stop)
        try:
            watch.stdout, watch.stderr = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            pytest.fail(f"tiles --watch {seconds} did not stop on {stop.name}")


def published_size(out: Path, deadline: float) -> int:
    """The size of the checkpoint in ``out``, once there is one."""
    while not (out / "checkpoint").exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return int((out / "checkpoint").read_text(encoding="utf-8").split("\n")[1])


def test_cli_watch_stops_at_once_while_it_waits(tmp_path: Path) -> None:
    """A stop during the wait between runs ends it then, not when the wait is over."""
    db, out = tmp_path / "l.db", tmp_path / "tiles"
    Ledger.init(db).close()
    with watching(db, out, "600", signal.SIGTERM) as watch:
        published_size(out, time.monotonic() + 30)
        time.sleep(0.2)  # into the wait
    assert watch.proc.returncode == 0, watch.stderr


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_cli_watch_keeps_the_tiles_up_to_date_until_interrupted(
    tmp_path: Path, stop: signal.Signals
) -> None:
    db, out = tmp_path / "l.db", tmp_path / "tiles"
    Ledger.init(db).close()
    with watching(db, out, "0.1", stop) as watch:
        deadline = time.monotonic() + 30
        assert published_size(out, deadline) == 1
        with Ledger.open(db) as led:
            led.append(led.platform_statement("note", text="later"))
        while published_size(out, deadline) != 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert (out / "tile/0/000.p/2").exists()
    assert watch.proc.returncode == 0, watch.stderr
    assert watch.stderr == ""
    assert [line.split()[1] for line in watch.stdout.splitlines()] == ["1", "2"]
