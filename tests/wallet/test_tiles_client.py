"""The wallet verifying the log from static tiles (c2sp.org/tlog-tiles) served by a plain
static file server (``python -m http.server``), without the ledger's API: inclusion of
entries and consistency between two checkpoints, through the ``wallet tiles-check`` command;
a tampered tile, bundle or checkpoint named as an attack (exit 1)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from api_support import free_port
from support import chainledger_exe
from wallet_support import one_line_error, run

from chainledger.crypto import generate_key
from chainledger.errors import NotFound
from chainledger.ledger import Ledger
from chainledger.note import Signer
from chainledger.tiles import write_tiles
from wallet.client import AttackDetected, TrustStore
from wallet.tiles import TileClient, TileSourceError

NO_API = "http://127.0.0.1:9"  # the wallet's --server: never contacted by tiles-check


def append(led: Ledger, n: int) -> None:
    futures = [led.submit(led.platform_statement("note", text=f"note {i}")) for i in range(n)]
    for f in futures:
        f.result()


def publish(db: Path, out: Path) -> str:
    r = subprocess.run(
        [chainledger_exe(), "tiles", "--db", str(db), "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return r.stdout


@contextmanager
def static_server(directory: Path) -> Iterator[str]:
    """A plain static file server of ``directory`` on a free loopback port."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port),
         "--directory", str(directory)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/checkpoint").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, "the static server stopped"
            assert time.monotonic() < deadline, "the static server did not start"
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def tiles_check(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result: subprocess.CompletedProcess[str] = run(home, NO_API, "tiles-check", *args)
    return result


@dataclass(frozen=True)
class Published:
    db: Path
    vkey: str
    out: Path  # the tiles, as `chainledger tiles` wrote them
    home: Path  # a new wallet's home


@pytest.fixture
def published(tmp_path: Path) -> Published:
    """A ledger of 300 entries (genesis and 299 notes), published as tiles."""
    db = tmp_path / "l.db"
    with Ledger.init(db) as led:
        append(led, 299)
        assert led.size() == 300
        vkey = led.vkey
    publish(db, tmp_path / "tiles")
    return Published(db, vkey, tmp_path / "tiles", tmp_path / "wallet")


def _flip(path: Path, offset: int) -> bytes:
    original = path.read_bytes()
    data = bytearray(original)
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    return original


def test_wallet_verifies_inclusion_and_consistency_from_a_static_server(
    published: Published,
) -> None:
    db, vkey, out, home = published.db, published.vkey, published.out, published.home
    first_checkpoint = (out / "checkpoint").read_text(encoding="utf-8")
    with static_server(out) as url:
        r = tiles_check(home, "--tiles", url, "--vkey", vkey, *_indexes(0, 5, 255, 256, 299))
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0].startswith("ok: chainledger.localhost/ledger size 300 root ")
        assert lines[0].endswith("from tiles (first seen)")
        assert [line.split()[2] for line in lines[1:]] == ["0", "5", "255", "256", "299"]
        assert "genesis" in lines[1]
        assert all("(note by " in line for line in lines[2:])
        trust = json.loads((home / "trust.json").read_text(encoding="utf-8"))
        assert (trust["vkey"], trust["checkpoint"]) == (vkey, first_checkpoint)

        # The log grows; the tiles are brought up to date while the server keeps serving.
        with Ledger.open(db) as led:
            append(led, 300)
        summary = publish(db, out)
        assert "600 entries" in summary
        assert "removed 2 superseded partial tiles" in summary
        r = tiles_check(home, "--tiles", url, *_indexes(300, 450, 599))  # the pinned key
        assert r.returncode == 0, r.stderr
        assert "size 600" in r.stdout
        assert "from tiles (was 300: consistent)" in r.stdout
        assert len(r.stdout.splitlines()) == 4

        # A static server (or a CDN) that serves an older checkpoint: a rollback.
        latest = (out / "checkpoint").read_text(encoding="utf-8")
        (out / "checkpoint").write_text(first_checkpoint, encoding="utf-8")
        r = tiles_check(home, "--tiles", url)
        one_line_error(r, 1, "ATTACK DETECTED", "rollback", "600 to 300")
        (out / "checkpoint").write_text(latest, encoding="utf-8")
        r = tiles_check(home, "--tiles", url, "--index", "600")
        one_line_error(r, 2, "entry 600 is not in a tree of size 600")


def _indexes(*indexes: int) -> list[str]:
    return [arg for i in indexes for arg in ("--index", str(i))]


@pytest.mark.parametrize(
    ("path", "offset", "index", "words"),
    [
        # Leaf 0's hash in the tile: not on entry 0's path (its leaf comes from the bundle),
        # on entry 5's (inside the subtree of leaves 0-3).
        ("tile/0/000", 0, 5, ("entry 5", "altered tile", "root recomputed")),
        ("tile/entries/001.p/44", -5, 299, ("entry 299", "altered tile or entry bundle")),
        ("tile/1/000.p/1", 3, 299, ("entry 299", "root recomputed")),
    ],
)
def test_a_tampered_tile_is_named_as_an_attack(
    published: Published, path: str, offset: int, index: int, words: tuple[str, ...]
) -> None:
    vkey, out, home = published.vkey, published.out, published.home
    with static_server(out) as url:
        original = _flip(out / path, offset)
        r = tiles_check(home, "--tiles", url, "--vkey", vkey, "--index", str(index))
        one_line_error(r, 1, "ATTACK DETECTED", *words)
        (out / path).write_bytes(original)
        r = tiles_check(home, "--tiles", url, "--index", str(index))
        assert r.returncode == 0, r.stderr


def test_a_truncated_tile_a_forged_checkpoint_and_a_missing_tile(published: Published) -> None:
    db, vkey, out, home = published.db, published.vkey, published.out, published.home
    tile = out / "tile/0/000"
    with static_server(out) as url:
        tile.write_bytes(tile.read_bytes()[:-1])
        r = tiles_check(home, "--tiles", url, "--vkey", vkey)
        one_line_error(r, 1, "ATTACK DETECTED", "tile/0/000 is 8191 bytes, not 8192")
        tile.unlink()
        r = tiles_check(home, "--tiles", url, "--vkey", vkey)
        one_line_error(r, 2, f"{url} has no tile/0/000")

    # A checkpoint signed by another key under the log's name.
    forger = Signer("chainledger.localhost/ledger", generate_key(lambda n: b"\x05" * n))
    with Ledger.open(db, writable=False) as led:
        body = led.checkpoint().split("\n\n")[0] + "\n"
    (out / "checkpoint").write_text(body + "\n" + forger.sign(body).line(), encoding="utf-8")
    r = tiles_check(home, "--tiles", str(out), "--vkey", vkey)
    one_line_error(r, 1, "ATTACK DETECTED", "not signed by the pinned log key")


def test_without_a_pinned_key_nothing_is_trusted(tmp_path: Path, published: Published) -> None:
    vkey, out = published.vkey, published.out
    r = tiles_check(tmp_path / "wallet", "--tiles", str(out), "--index", "1")
    one_line_error(r, 2, "none pinned", "--vkey")
    assert not (tmp_path / "wallet" / "trust.json").exists()
    other = Signer("other.example/log", generate_key(lambda n: b"\x06" * n)).verifier().vkey()
    home = tmp_path / "pinned"
    TrustStore(home / "trust.json").save({"vkey": other})
    r = tiles_check(home, "--tiles", str(out), "--vkey", vkey)
    one_line_error(r, 1, "ATTACK DETECTED", "not the one this wallet pinned")


# --- the library: directory sources, an SM3 ledger ---------------------------------------------


def test_an_sm3_ledger_is_read_with_the_suite_its_genesis_names(tmp_path: Path) -> None:
    db, out = tmp_path / "sm3.db", tmp_path / "tiles"
    with Ledger.init(db, suite_name="sm3") as led:
        append(led, 40)
        write_tiles(led.store, out, checkpoint=led.checkpoint())
        vkey, expected = led.vkey, [led.entry(i) for i in (0, 17, 40)]
    trust = TrustStore(tmp_path / "trust.json")
    with TileClient(out.as_uri(), trust, vkey=vkey) as client:
        view = client.checkpoint()
        assert view.reader.suite.name == "sm3"
        assert [view.entry(i).data for i in (0, 17, 40)] == expected
        assert view.previous is None
    with TileClient(str(out), trust) as client:  # the key pinned by the first run
        view = client.checkpoint()
        assert view.previous == view.checkpoint


def test_library_errors_are_named(tmp_path: Path) -> None:
    trust = TrustStore(tmp_path / "trust.json")
    vkey = Signer("log.example", generate_key(lambda n: b"\x04" * n)).verifier().vkey()
    with pytest.raises(TileSourceError, match="no tiles directory"):
        TileClient(str(tmp_path / "missing"), trust, vkey=vkey)
    with TileClient(str(tmp_path), trust, vkey=vkey) as client, pytest.raises(NotFound):
        client.checkpoint()
    (tmp_path / "checkpoint").write_text("not a note\n", encoding="utf-8")
    with TileClient(str(tmp_path), trust, vkey=vkey) as client, pytest.raises(AttackDetected):
        client.checkpoint()
    nobody = f"http://127.0.0.1:{free_port()}"
    with TileClient(nobody, trust, vkey=vkey) as client, pytest.raises(TileSourceError):
        client.checkpoint()
