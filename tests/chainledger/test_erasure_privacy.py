"""Erasure (crypto-shredding) and privacy: no personal value outside the vault.

DESIGN.md, "Vault": values and salts live only in the vault, encrypted; erasure destroys
them and the ledger still verifies; no personal field value is ever written to the
ledger tables, logs or error messages. The privacy scan builds the small demo, collects
every personal value it knows of (the holders' wallets and every vault record, opened
with the KEK), and searches the database files, the log output and the text of the
errors of many refused operations for each value's UTF-8 bytes.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sqlite3
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from domain_support import Actor, Cast, make_cast

from chainledger.access import read_fields
from chainledger.assets import digests_of, issue_fields, make_disclosures
from chainledger.clock import format_ts
from chainledger.crypto import load_private_key, party_id, public_key_bytes
from chainledger.demo import SCALES, build_demo
from chainledger.domain import Domain, domain_rules
from chainledger.encoding import b64decode
from chainledger.entry import decode_entry
from chainledger.errors import MalformedInput, NotFound, SchemaError
from chainledger.grants import create_fields
from chainledger.identity import make_resident_id
from chainledger.parties import proof_of_possession
from chainledger.rules import Refused, UnknownActor
from chainledger.statement import SignedStatement, make_statement, sign_statement
from chainledger.vault import Vault, VaultTampered
from chainledger.verify import verify_ledger

ID_CARD_SCOPE = {"resident_id_card": ["name", "id_number"]}


def leaks(blob: bytes, values: Iterable[str]) -> list[str]:
    """The values whose UTF-8 bytes occur in ``blob``."""
    return sorted(v for v in values if v.encode("utf-8") in blob)


# --- erasure --------------------------------------------------------------------------------


@pytest.fixture
def cast(tmp_path: Path) -> Iterator[Cast]:
    c = make_cast(tmp_path / "ledger.db")
    yield c
    c.domain.close()


def bus_read(cast: Cast, grant: str, asset: str, fields: list[str]) -> SignedStatement:
    return cast.bus.sign(
        cast.domain, "access.read", **read_fields(grant, asset, fields, "ticket_purchase")
    )


def refused(d: Domain, submit: Callable[[], Any], reason: str, *, recorded: bool = False) -> None:
    size = d.ledger.size()
    with pytest.raises(Refused) as info:
        submit()
    assert info.value.reason == reason
    assert d.ledger.size() == size + (1 if recorded else 0)


def test_holder_erasure_shreds_the_vault_record_and_refuses_reads(cast: Cast) -> None:
    d = cast.domain
    aid, values = cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
    gid, _ = cast.grant(cast.citizen, cast.bus, "bus_ticket", ID_CARD_SCOPE)
    earlier = bus_read(cast, gid, aid, ["name"])
    earlier_receipt = d.read(earlier).receipt
    issue_seq = d.store.asset(aid).seq

    receipt = d.erase(cast.citizen.sign(d, "asset.erase", asset=aid, basis="holder_request"))

    entry, _ = receipt.verify([d.ledger.verifier], origin=d.ledger.origin)
    assert (entry.kind, entry.statement.stmt["asset"]) == ("asset.erase", aid)
    assert d.store.vault_get(aid) is None
    asset = d.store.asset(aid)
    assert asset is not None
    assert asset.status == "erased"
    # A new read is refused (and recorded); a committed read's values are gone too.
    refused(d, lambda: d.read(bus_read(cast, gid, aid, ["name"])), "asset_erased", recorded=True)
    with pytest.raises(NotFound) as gone:
        d.release(earlier, earlier_receipt)
    assert values["name"] not in str(gone.value)
    # The issue entry (digests only) stays: the ledger still verifies without the values.
    assert decode_entry(d.ledger.entry(issue_seq)).kind == "asset.issue"
    assert [h.outcome for h in d.history(cast.citizen.id)] == ["read", "denied"]
    verify_ledger(d.store, rules=domain_rules())


def test_lawful_erasure_by_the_platform(cast: Cast) -> None:
    d = cast.domain
    aid, _ = cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
    gid, _ = cast.grant(cast.citizen, cast.bus, "bus_ticket", ID_CARD_SCOPE)
    # The platform erases only on a lawful request, never as if it were the holder.
    platform_as_holder = d.ledger.platform_statement(
        "asset.erase", asset=aid, basis="holder_request"
    )
    refused(d, lambda: d.erase(platform_as_holder), "basis")
    assert d.store.vault_get(aid) is not None

    receipt = d.lawful_erasure(aid)

    entry, _ = receipt.verify([d.ledger.verifier], origin=d.ledger.origin)
    assert entry.statement.actor == d.ledger.platform_id
    assert (entry.statement.stmt["asset"], entry.statement.stmt["basis"]) == (aid, "lawful_request")
    assert d.store.vault_get(aid) is None
    assert d.store.asset(aid).status == "erased"
    refused(d, lambda: d.read(bus_read(cast, gid, aid, ["name"])), "asset_erased", recorded=True)
    refused(d, lambda: d.lawful_erasure(aid), "asset_erased")
    verify_ledger(d.store, rules=domain_rules())


def test_erasure_refusals(cast: Cast) -> None:
    d = cast.domain
    mine, _ = cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
    theirs, _ = cast.issue_id_card(cast.other, cast.other_id_number, cast.citizen_name)
    gid, _ = cast.grant(cast.other, cast.bus, "bus_ticket", ID_CARD_SCOPE)

    def erase(holder: Actor, asset: str, basis: str = "holder_request") -> Callable[[], Any]:
        return lambda: d.erase(holder.sign(d, "asset.erase", asset=asset, basis=basis))

    # Someone else's asset: refused, and the values stay readable by its holder's grant.
    # (an attempt on another's asset is recorded: a request.denied entry)
    refused(d, erase(cast.citizen, theirs), "not_holder", recorded=True)
    refused(d, erase(cast.citizen, theirs, "lawful_request"), "not_holder", recorded=True)
    assert d.store.vault_get(theirs) is not None
    assert set(d.read(bus_read(cast, gid, theirs, ["name"])).disclosures) == {"name"}
    # Erasing twice, an unknown asset, a made-up basis.
    d.erase(cast.citizen.sign(d, "asset.erase", asset=mine, basis="holder_request"))
    refused(d, erase(cast.citizen, mine), "asset_erased")
    refused(d, erase(cast.citizen, "a_aaaaaaaaaaaaaaaa"), "asset_unknown")
    with pytest.raises(SchemaError):
        erase(cast.other, theirs, "changed_my_mind")()
    # Only an erasure statement goes through Domain.erase.
    with pytest.raises(SchemaError):
        d.erase(cast.citizen.sign(d, "grant.revoke", grant=gid))
    assert d.store.vault_get(theirs) is not None
    verify_ledger(d.store, rules=domain_rules())


def _swap(conn: sqlite3.Connection, a: str, b: str, columns: tuple[str, ...]) -> None:
    cols = ", ".join(columns)
    ra = conn.execute(f"SELECT {cols} FROM vault WHERE asset = ?", (a,)).fetchone()  # noqa: S608
    rb = conn.execute(f"SELECT {cols} FROM vault WHERE asset = ?", (b,)).fetchone()  # noqa: S608
    assert ra is not None
    assert rb is not None
    sets = ", ".join(f"{c} = ?" for c in columns)
    for row, asset in ((rb, a), (ra, b)):
        cur = conn.execute(f"UPDATE vault SET {sets} WHERE asset = ?", (*row, asset))  # noqa: S608
        assert cur.rowcount == 1


def _flip(conn: sqlite3.Connection, a: str, b: str, columns: tuple[str, ...]) -> None:
    (ct,) = conn.execute("SELECT ciphertext FROM vault WHERE asset = ?", (a,)).fetchone()
    flipped = bytes([ct[0] ^ 1]) + bytes(ct[1:])
    conn.execute("UPDATE vault SET ciphertext = ? WHERE asset = ?", (flipped, a))


TAMPERING: dict[str, tuple[Callable[..., None], tuple[str, ...]]] = {
    "swap_ciphertexts": (_swap, ("ciphertext",)),
    "swap_ciphertexts_and_nonces": (_swap, ("nonce", "ciphertext")),
    "swap_whole_records": (_swap, ("wrapped_key", "nonce", "ciphertext")),
    "swap_wrapped_keys": (_swap, ("wrapped_key",)),
    "flip_a_ciphertext_bit": (_flip, ()),
}


@pytest.mark.parametrize("tampering", sorted(TAMPERING))
def test_vault_tampering_is_detected_on_release(cast: Cast, tampering: str) -> None:
    d = cast.domain
    mine, values = cast.issue_id_card(cast.citizen, cast.citizen_id_number, cast.citizen_name)
    theirs, _ = cast.issue_id_card(cast.other, cast.other_id_number, "王建国")
    gid, _ = cast.grant(cast.citizen, cast.bus, "bus_ticket", ID_CARD_SCOPE)
    read = bus_read(cast, gid, mine, ["name", "id_number"])
    receipt = d.submit_read(read).result()  # committed; the values are not released yet
    assert d.release(read, receipt).disclosures["name"][1] == values["name"]

    change, columns = TAMPERING[tampering]
    with closing(sqlite3.connect(d.store.path, isolation_level=None)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        change(conn, mine, theirs, columns)
        conn.execute("COMMIT")

    with pytest.raises(VaultTampered) as info:
        d.release(read, receipt)
    text = "".join(traceback.format_exception(info.value))
    assert leaks(text.encode(), [values["name"], values["id_number"], values["address"]]) == []
    assert leaks(text.encode(), [cast.other_id_number, "王建国"]) == []


# --- the privacy scan -----------------------------------------------------------------------------


class _Records(logging.Handler):
    """Every log record, formatted with its traceback (what a DEBUG log file would hold)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@dataclass
class Refusal:
    label: str
    expected: type[Exception]
    error: BaseException | None

    @property
    def text(self) -> str:
        """Everything a caller, a log or an HTTP problem response could show of the error."""
        exc = self.error
        if exc is None:
            return ""
        parts = ["".join(traceback.format_exception(exc)), repr(exc), str(exc)]
        parts += [str(getattr(exc, a, "")) for a in ("detail", "reason", "field", "what")]
        receipt = getattr(exc, "receipt", None)
        if receipt is not None:
            parts.append(receipt.entry.decode("utf-8"))
        return "\n".join(parts)


@dataclass
class Demo:
    files: dict[str, bytes]  # the database, and its -wal and -shm if present, after close
    wallets: bytes  # parties.json: the holders' own data (not scanned: the control)
    wallet_values: set[str]
    vault_values: set[str]
    salts: set[str]
    extra_values: set[str]  # personal values made up for the refused operations
    log_lines: list[str]
    refusals: list[Refusal]
    issue_entries: list[bytes]
    classes: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def personal(self) -> set[str]:
        return self.wallet_values | self.vault_values | self.salts | self.extra_values


def _sign(
    d: Domain, actor: str, key: Ed25519PrivateKey, kind: str, /, **fields: Any
) -> SignedStatement:
    return sign_statement(make_statement(kind, actor, d.ledger.clock(), os.urandom, **fields), key)


REFUSED_OPERATIONS = [
    "holder_registered_with_its_name",
    "identity_that_already_has_a_wallet",
    "no_wallet_bound_to_an_identity",
    "values_not_matching_the_signed_digests",
    "phone_number_as_the_id_number",
    "name_as_the_sex",
    "control_character_in_the_address",
    "address_too_long",
    "birth_date_in_the_wrong_format",
    "field_the_class_does_not_have",
    "lone_surrogate_in_the_name",
    "personal_card_for_an_enterprise",
    "id_number_as_the_holder",
    "phone_number_as_a_field_name",
    "id_number_as_the_asset",
    "name_as_the_purpose",
    "read_by_an_unknown_key",
    "read_through_the_generic_submit",
    "erasing_someone_elses_asset",
    "grant_whose_purpose_is_an_id_number",
    "trace_query_too_long_to_be_an_id",
]


def _refused_operations(
    d: Domain, parties: list[dict[str, Any]], keys: Path
) -> tuple[list[Refusal], set[str]]:
    """Many refused operations fed with the demo holders' real values."""
    key = {p["id"]: load_private_key(keys / p["key"]) for p in parties}
    persons = [p for p in parties if p.get("attrs") == {"subject": "person"}]
    enterprise = next(p for p in parties if p.get("attrs") == {"subject": "enterprise"})
    police = next(
        p for p in parties if "public_security" in p.get("attrs", {}).get("authorities", [])
    )
    person, neighbour = persons[0], persons[1]
    w = person["wallet"]
    rng = random.Random(99)
    unbound = make_resident_id(rng, region="371502", birth=date(1977, 7, 7), female=True)
    extra = {unbound}
    # A standing grant of some holder, to a counter, as the demo made it.
    grant = next(
        g
        for p in persons
        for g in d.store.grants_of(p["id"])
        if g.grantee is not None and g.status == "active" and g.assets
    )
    granted_asset = grant.assets[0] if grant.assets else ""
    counter_key = key[grant.grantee] if grant.grantee else None
    assert counter_key is not None
    [granted_fields] = grant.scope.values()
    intruder = next(p["id"] for p in persons if p["id"] != grant.holder)

    def card(**changes: Any) -> dict[str, Any]:
        values = {
            "name": w["name"], "sex": w["sex"], "ethnicity": "汉", "birth_date": w["birth_date"],
            "address": w["address"], "id_number": w["id_number"], "valid_from": "2020-01-01",
            "valid_until": "2040-01-01",
        }  # fmt: skip
        values.update(changes)
        return values

    def issue(
        values: dict[str, Any],
        holder: str = person["id"],
        tweak: Callable[[dict[str, Any]], None] | None = None,
    ) -> Any:
        disclosures = make_disclosures(values, os.urandom)
        digests = digests_of(d.ledger.suite, disclosures)
        if tweak is not None:
            tweak(disclosures)
        stmt = _sign(
            d, police["id"], key[police["id"]], "asset.issue",
            **issue_fields("resident_id_card", holder, digests, "2020-01-01", "2040-01-01"),
        )  # fmt: skip
        return d.issue(stmt, disclosures)

    def read(**changes: Any) -> Any:
        fields = {"grant": grant.id, "asset": granted_asset, "fields": list(granted_fields),
                  "purpose": grant.purpose, **changes}  # fmt: skip
        assert grant.grantee is not None
        return d.read(_sign(d, grant.grantee, counter_key, "access.read", **fields))

    def swap_name(disclosures: dict[str, Any]) -> None:
        disclosures["name"][1] = neighbour["wallet"]["name"]

    stranger = Ed25519PrivateKey.generate()
    now = d.ledger.clock()
    operations: list[tuple[str, type[Exception], Callable[[], Any]]] = [
        ("holder_registered_with_its_name", SchemaError, lambda: d.register(
            public_key_bytes(stranger), "holder", name=w["name"], attrs={"subject": "person"},
            pop=proof_of_possession(stranger, "holder"), real_id=unbound)),
        ("identity_that_already_has_a_wallet", Refused, lambda: d.register(
            public_key_bytes(stranger), "holder", name="", attrs={"subject": "person"},
            pop=proof_of_possession(stranger, "holder"), real_id=w["id_number"])),
        ("no_wallet_bound_to_an_identity", NotFound, lambda: d.holder_for(unbound)),
        ("values_not_matching_the_signed_digests", SchemaError,
         lambda: issue(card(), tweak=swap_name)),
        ("phone_number_as_the_id_number", SchemaError, lambda: issue(card(id_number=w["phone"]))),
        ("name_as_the_sex", SchemaError, lambda: issue(card(sex=w["name"]))),
        ("control_character_in_the_address", SchemaError,
         lambda: issue(card(address=w["address"] + "\x07"))),
        ("address_too_long", SchemaError, lambda: issue(card(address=w["address"] * 20))),
        ("birth_date_in_the_wrong_format", SchemaError,
         lambda: issue(card(birth_date=w["birth_date"].replace("-", "/")))),
        ("field_the_class_does_not_have", SchemaError,
         lambda: issue({**card(), "phone": w["phone"]})),
        ("lone_surrogate_in_the_name", MalformedInput,
         lambda: issue(card(name=w["name"] + "\ud800"))),
        ("personal_card_for_an_enterprise", Refused,
         lambda: issue(card(), holder=enterprise["id"])),
        ("id_number_as_the_holder", Refused, lambda: issue(card(), holder=w["id_number"])),
        ("phone_number_as_a_field_name", Refused,
         lambda: read(fields=[*granted_fields, w["phone"]])),
        ("id_number_as_the_asset", Refused, lambda: read(asset=w["id_number"])),
        ("name_as_the_purpose", Refused, lambda: read(purpose=w["name"])),
        ("read_by_an_unknown_key", UnknownActor, lambda: d.read(_sign(
            d, party_id(public_key_bytes(stranger)), stranger, "access.read",
            **read_fields(grant.id, w["id_number"], [w["name"]], w["address"])))),
        ("read_through_the_generic_submit", SchemaError, lambda: d.submit(
            _sign(d, grant.grantee or "", counter_key, "access.read",
                  **read_fields(grant.id, granted_asset, [w["name"]], grant.purpose)))),
        ("erasing_someone_elses_asset", Refused, lambda: d.erase(_sign(
            d, intruder, key[intruder], "asset.erase", asset=granted_asset,
            basis="holder_request"))),
        ("grant_whose_purpose_is_an_id_number", Refused, lambda: d.append(_sign(
            d, person["id"], key[person["id"]], "grant.create",
            **create_fields(scenario="bus_ticket", purpose=w["id_number"], scope=ID_CARD_SCOPE,
                            grantee=grant.grantee, not_before=format_ts(now),
                            expires=format_ts(now + timedelta(days=30)), max_uses=1)))),
        ("trace_query_too_long_to_be_an_id", SchemaError, lambda: d.audit(_sign(
            d, *_auditor(parties, key), "audit.query", query={"holder": w["id_number"] * 4}))),
    ]  # fmt: skip
    refusals = []
    for label, expected, operation in operations:
        error: BaseException | None = None
        try:
            operation()
        except Exception as exc:  # kept, checked by the tests
            error = exc
        refusals.append(Refusal(label, expected, error))
    assert [r.label for r in refusals] == REFUSED_OPERATIONS
    return refusals, extra


def _auditor(
    parties: list[dict[str, Any]], key: dict[str, Ed25519PrivateKey]
) -> tuple[str, Ed25519PrivateKey]:
    auditor = next(p for p in parties if p["role"] == "auditor")
    return auditor["id"], key[auditor["id"]]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    # caplog is per test; the module's one build is captured the same way, by a handler on
    # the root logger at DEBUG, for the whole build and every refused operation.
    tmp = tmp_path_factory.mktemp("privacy")
    db, keys = tmp / "ledger.db", tmp / "wallets"
    handler = _Records()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        d = Domain.init(db)
        try:
            build_demo(d, SCALES["small"], keys_dir=keys)
            parties = json.loads((keys / "parties.json").read_text(encoding="utf-8"))
            classes = {c["class"]: c for c in d.store.catalog_classes()}
            vault = Vault(d.secrets.kek)
            vault_values: set[str] = set()
            salts: set[str] = set()
            for holder in d.store.parties(role="holder"):
                for asset in d.store.assets_of(holder.id):
                    record = d.store.vault_get(asset.id)
                    if record is None:  # erased by the demo
                        continue
                    types = {f["name"]: f["type"] for f in classes[asset.cls]["fields"]}
                    for name, (salt, value) in vault.open(record).items():
                        salts.add(salt)
                        # Enum values are the catalog's own public words (on the ledger in
                        # the class definitions); dates of issue and validity are on the
                        # ledger by design (valid_from/valid_until) and coincide with its
                        # timestamps. Birth dates are scanned from the wallets.
                        public = types[name] in ("enum", "date")
                        if isinstance(value, str) and len(value) > 3 and not public:
                            vault_values.add(value)
            refusals, extra = _refused_operations(d, parties, keys)
            issue_entries = [
                data for _, data in d.ledger.entries() if decode_entry(data).kind == "asset.issue"
            ]
        finally:
            d.close()  # the last connection closed: the WAL is checkpointed into the file
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    # parties.json and the key files are outside the scan: they are the wallets' own data
    # (each holder keeps its own), written beside the database only by the demo.
    wallet_values = {
        value
        for p in parties
        for name, value in p.get("wallet", {}).items()
        if name != "sex"  # one character, 男/女: in the catalog's enum
    }
    files = {
        p.name: p.read_bytes()
        for p in tmp.iterdir()
        if p.name in (db.name, db.name + "-wal", db.name + "-shm")
    }
    return Demo(
        files, (keys / "parties.json").read_bytes(), wallet_values, vault_values, salts, extra,
        handler.lines, refusals, issue_entries, classes,
    )  # fmt: skip


def test_the_scan_knows_the_personal_values(demo: Demo) -> None:
    small = SCALES["small"]
    # Every holder's identity, and a wide range of asset values and salts.
    assert len(demo.wallet_values) >= 4 * (small.persons + small.enterprises)
    assert len(demo.vault_values) > 300
    assert len(demo.salts) > 1000
    # The control: the scan finds the values where they are (the wallets file).
    assert leaks(demo.wallets, demo.wallet_values) == sorted(demo.wallet_values)
    assert "ledger.db" in demo.files
    assert len(demo.issue_entries) == small.assets


def test_no_personal_value_in_the_database_files(demo: Demo) -> None:
    personal = demo.personal
    for name, blob in demo.files.items():
        assert leaks(blob, personal) == [], name


def test_no_personal_value_in_the_logs(demo: Demo) -> None:
    assert leaks("\n".join(demo.log_lines).encode("utf-8"), demo.personal) == []


@pytest.mark.parametrize("operation", REFUSED_OPERATIONS)
def test_no_personal_value_in_error_messages(demo: Demo, operation: str) -> None:
    [refusal] = [r for r in demo.refusals if r.label == operation]
    assert isinstance(refusal.error, refusal.expected), refusal.label
    assert leaks(refusal.text.encode("utf-8"), demo.personal) == [], refusal.label


def test_issue_entries_hold_only_digests(demo: Demo) -> None:
    for data in demo.issue_entries:
        stmt = decode_entry(data).statement.stmt
        fields = {f["name"] for f in demo.classes[stmt["class"]]["fields"]}
        assert set(stmt["digests"]) <= fields
        for digest in stmt["digests"].values():
            assert len(b64decode(digest, "digest", 32)) == 32
    # One search per value over all the entries (a newline never occurs in an entry).
    found = leaks(b"\n".join(demo.issue_entries), demo.personal)
    assert found == [], [e for e in demo.issue_entries if leaks(e, found)][:3]


def test_a_trace_by_id_number_does_not_put_it_on_the_ledger(cast: Cast) -> None:
    d = cast.domain
    size = d.ledger.size()
    with pytest.raises(SchemaError):
        d.trace(cast.auditor.sign(d, "audit.query", query={"holder": cast.citizen_id_number}))
    assert d.ledger.size() == size


def test_a_sheet_item_cannot_carry_free_form_data(cast: Cast) -> None:
    d = cast.domain
    gid, _ = cast.grant(cast.citizen, cast.bus, "bus_ticket", ID_CARD_SCOPE)
    with pytest.raises(Refused) as info:
        d.read(bus_read(cast, gid, "not-an-asset-id", ["name"]))
    denied = info.value.receipt
    item = {
        "seq": denied.seq,
        "leaf": denied.leaf_hash.hex(),
        "asset": cast.citizen_id_number,
        "outcome": "denied",
    }
    size = d.ledger.size()
    with pytest.raises((SchemaError, Refused)):
        d.append(cast.bus.sign(d, "sheet.issue", application="ticket_sale", items=[item]))
    assert d.ledger.size() == size
