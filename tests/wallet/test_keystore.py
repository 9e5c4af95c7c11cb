"""The wallet's key file: encrypted at rest, bound to its party, rotation with retirement."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from chainledger.crypto import party_id, public_key_bytes
from chainledger.errors import MalformedInput
from wallet.keystore import Keystore, WrongPassphrase

FAST = 2**10  # scrypt N for tests (the default, 2^15, costs ~0.1 s per open)


def test_create_unlock_round_trip_and_file_mode(tmp_path: Path) -> None:
    ks = Keystore(tmp_path / "home")
    info, key = ks.create("holder", "correct horse", n=FAST)
    assert info.party == party_id(public_key_bytes(key))
    assert info.role == "holder"
    assert stat.S_IMODE(ks.path.stat().st_mode) == 0o600
    assert ks.unlock("correct horse").private_bytes_raw() == key.private_bytes_raw()
    # The private key is not in the file in any readable form.
    text = ks.path.read_text()
    assert key.private_bytes_raw().hex() not in text
    from chainledger.encoding import b64encode

    assert b64encode(key.private_bytes_raw()) not in text


def test_wrong_passphrase_is_named(tmp_path: Path) -> None:
    ks = Keystore(tmp_path)
    ks.create("counter", "right", n=FAST)
    with pytest.raises(WrongPassphrase):
        ks.unlock("wrong")


@pytest.mark.parametrize(
    ("member", "value"),
    [("role", "auditor"), ("party", "p_aaaaaaaaaaaaaaaa"), ("public_key", "A" * 43 + "=")],
)
def test_edited_public_parts_do_not_open(tmp_path: Path, member: str, value: str) -> None:
    ks = Keystore(tmp_path)
    ks.create("holder", "pw", n=FAST)
    data = json.loads(ks.path.read_text())
    data[member] = value
    ks.path.write_text(json.dumps(data))
    with pytest.raises(WrongPassphrase):
        ks.unlock("pw")


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "{}",
        '{"format": "chainledger-wallet-key/1"}',
        '{"format": "chainledger-wallet-key/1", "kdf": {"name": "pbkdf2"}}',
    ],
)
def test_malformed_key_files_are_named(tmp_path: Path, content: str) -> None:
    ks = Keystore(tmp_path)
    ks.path.write_text(content)
    with pytest.raises(MalformedInput):
        ks.unlock("pw")


def test_huge_scrypt_parameters_are_refused_before_deriving(tmp_path: Path) -> None:
    ks = Keystore(tmp_path)
    ks.create("holder", "pw", n=FAST)
    data = json.loads(ks.path.read_text())
    data["kdf"]["n"] = 2**30
    ks.path.write_text(json.dumps(data))
    with pytest.raises(MalformedInput):
        ks.unlock("pw")


def test_create_never_replaces_a_key_and_needs_a_passphrase(tmp_path: Path) -> None:
    ks = Keystore(tmp_path)
    with pytest.raises(MalformedInput):
        ks.create("holder", "", n=FAST)
    assert not ks.exists()
    ks.create("holder", "pw", n=FAST)
    before = ks.path.read_bytes()
    with pytest.raises(MalformedInput):
        ks.create("holder", "pw", n=FAST)
    assert ks.path.read_bytes() == before
    with pytest.raises(MalformedInput):
        Keystore(tmp_path / "other").create("platform", "pw", n=FAST)


def test_missing_key_file_says_run_init(tmp_path: Path) -> None:
    with pytest.raises(MalformedInput, match="wallet init"):
        Keystore(tmp_path).info()


def test_rotation_keeps_the_party_and_retires_the_old_key(tmp_path: Path) -> None:
    ks = Keystore(tmp_path)
    info, first = ks.create("issuer", "pw", n=FAST)
    old, new = ks.rotate("pw", n=FAST)
    assert old.private_bytes_raw() == first.private_bytes_raw()
    assert public_key_bytes(new) != public_key_bytes(old)
    after = ks.info()
    assert (after.party, after.role) == (info.party, info.role)
    assert after.public_key == public_key_bytes(new)
    assert ks.unlock("pw").private_bytes_raw() == new.private_bytes_raw()
    retired = Keystore(tmp_path)
    retired.path = tmp_path / "retired" / "key-1.json"
    assert retired.unlock("pw").private_bytes_raw() == first.private_bytes_raw()
    # A refused rotation is undone.
    ks.undo_rotation()
    assert ks.unlock("pw").private_bytes_raw() == first.private_bytes_raw()
    with pytest.raises(WrongPassphrase):
        ks.rotate("wrong", n=FAST)
    assert ks.unlock("pw").private_bytes_raw() == first.private_bytes_raw()
