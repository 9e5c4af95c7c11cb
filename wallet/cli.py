"""``wallet``: the client side, where each party's key stays with that party.

Exit status: 0 success; 1 the server's answer did not verify (an attack, named as
such); 2 bad arguments, a wrong passphrase, an unreachable server or a refusal
(one line on stderr). The passphrase comes from ``WALLET_PASSPHRASE`` or a prompt.

Every party: ``init``, ``import``, ``whoami``, ``vkey``, ``rotate``, ``checkpoint``.
Holders: ``assets``, ``grant``, ``grants``, ``revoke``, ``present`` (a one-time QR),
``history``, ``erase``; ``present --bundle`` exports an offline presentation bundle.
Counters: ``read`` (a token, a QR image, a standing grant, or offline a bundle),
``sync`` (sends queued offline reads, refreshes the offline cache), ``sheet``.
Issuers: ``issue`` and ``reissue`` (CSV), ``revoke-asset``. Auditors: ``audit``,
``witness``, ``monitor``. All of them go through `wallet.client.LedgerClient`, which
verifies every answer; offline checks go through `wallet.bundle`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chainledger.access import offline_fields, read_fields
from chainledger.clock import format_ts, system_clock
from chainledger.crypto import (
    SUITES,
    load_private_key,
    party_id,
    public_key_bytes,
    save_private_key,
)
from chainledger.encoding import b64encode
from chainledger.entry import Entry
from chainledger.errors import ChainledgerError, MalformedInput, VerificationError
from chainledger.grants import create_fields, grant_id, secret_hash
from chainledger.note import parse_verifier_key
from chainledger.parties import pop_message
from chainledger.receipt import Receipt
from chainledger.statement import make_statement, sign_statement
from wallet.bundle import Bundle, BundleAsset, verify_bundle
from wallet.client import LedgerClient, ServerRefused, TrustStore
from wallet.httpsig import RequestSigner
from wallet.keys import KeyCache
from wallet.keystore import Keystore, StoredKey
from wallet.offline import OfflineCache, OfflineStore
from wallet.presentation import Presentation, decode_image, terminal_qr, write_qr


def fail(message: str, status: int = 2) -> NoReturn:
    click.echo(f"wallet: error: {message}", err=True)
    sys.exit(status)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except VerificationError as exc:
        fail(f"ATTACK DETECTED: {exc}", 1)
    except ServerRefused as exc:
        receipt = exc.receipt
        recorded = (
            f"; the refusal is recorded at seq {receipt['seq']} (receipt verified)"
            if exc.verified and isinstance(receipt, dict)
            else ""
        )
        fail(f"refused by the server: {exc}{recorded}")
    except ChainledgerError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))


def _passphrase(confirm: bool = False) -> str:
    env = os.environ.get("WALLET_PASSPHRASE")
    if env is not None:
        return env
    if not sys.stdin.isatty():
        fail("no passphrase: set WALLET_PASSPHRASE or run on a terminal")
    return str(click.prompt("passphrase", hide_input=True, confirmation_prompt=confirm))


def default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "chainledger-wallet"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=default_home,
    show_default="the platform's user data directory",
    help="This wallet's directory (key, trust state).",
)
@click.option(
    "--server", default="http://127.0.0.1:8000", show_default=True, help="The ledger's URL."
)
@click.pass_context
def main(ctx: click.Context, home: Path, server: str) -> None:
    """The chainledger wallet: keys kept by their owner; every answer verified."""
    ctx.obj = {"home": home, "server": server}


def _client(ctx: click.Context) -> LedgerClient:
    home: Path = ctx.obj["home"]
    return LedgerClient(
        ctx.obj["server"], TrustStore(home / "trust.json"), key_cache=KeyCache(home / "keys.json")
    )


@main.command()
@click.option(
    "--role", type=click.Choice(["holder", "counter", "issuer", "auditor"]), required=True
)
@click.pass_context
def init(ctx: click.Context, role: str) -> None:
    """Create this wallet's key (encrypted) and print the registration request for the
    platform (public key and proof of possession; the platform approves and registers)."""
    with _errors():
        store = Keystore(ctx.obj["home"])
        if store.exists():
            fail(f"{store.path} already holds a key")
        info, key = store.create(role, _passphrase(confirm=True))
        request = {
            "public_key": b64encode(info.public_key),
            "role": role,
            "pop": b64encode(key.sign(pop_message(info.party, role))),
        }
    click.echo(json.dumps({"party": info.party, "registration": request}, ensure_ascii=False))


@main.command()
@click.pass_context
def whoami(ctx: click.Context) -> None:
    """This wallet's party id, role and public key (no passphrase needed)."""
    with _errors():
        info = Keystore(ctx.obj["home"]).info()
    click.echo(f"{info.party} {info.role} {b64encode(info.public_key)}")


@main.command()
@click.pass_context
def checkpoint(ctx: click.Context) -> None:
    """Fetch the log's checkpoint, verify it and its consistency with the last one seen."""
    with _errors(), _client(ctx) as client:
        last = client.last_checkpoint()
        cp = client.checkpoint()
    grown = f" (was {last.size}: consistent)" if last is not None else " (first seen: pinned)"
    click.echo(f"ok: {cp.origin} size {cp.size} root {cp.root.hex()}{grown}")


@main.command("tiles-check")
@click.option(
    "--tiles",
    "source",
    required=True,
    help="Where the log's static tiles are: an http(s):// URL prefix, a file:// URL or a path.",
)
@click.option(
    "--index",
    "indexes",
    type=click.IntRange(min=0),
    multiple=True,
    help="An entry to prove included (repeat).",
)
@click.option("--vkey", default=None, help="The log's verifier key (default: the pinned one).")
@click.pass_context
def tiles_check(
    ctx: click.Context, source: str, indexes: tuple[int, ...], vkey: str | None
) -> None:
    """Verify the log from its static tiles (c2sp.org/tlog-tiles), without its API: the
    checkpoint's signature by the pinned log key and its consistency with the last checkpoint
    this wallet verified, then each --index entry, from its entry bundle, by an inclusion
    proof built from the hash tiles."""
    from wallet.tiles import TileClient

    with _errors():
        trust = TrustStore(Path(ctx.obj["home"]) / "trust.json")
        with TileClient(source, trust, vkey=vkey) as client:
            view = client.checkpoint()
            entries = [view.entry(i) for i in indexes]
    cp, last = view.checkpoint, view.previous
    grown = f" (was {last.size}: consistent)" if last is not None else " (first seen)"
    click.echo(f"ok: {cp.origin} size {cp.size} root {cp.root.hex()} from tiles{grown}")
    for e in entries:
        click.echo(f"ok: entry {e.seq} ({e.kind} by {e.actor}, {e.ts}) is in the tree")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def history(ctx: click.Context, as_json: bool) -> None:
    """Every read and refused read of my data, each proved to be in the log."""
    with _errors():
        info, key = _unlocked(ctx)
        with _client(ctx) as client:
            rows = client.history(RequestSigner(info.party, key), info.party)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        if r["outcome"] == "read":
            what = "read (offline)" if r["reason"] == "offline" else "read"
        else:
            what = f"REFUSED ({r['reason']})"
        click.echo(
            f"{r['ts']}  seq {r['seq']}  {r['counter']}  {what}  "
            f"{r['cls'] or '-'}  purpose {r['purpose'] or '-'}  proof {r['proof']}"
        )
    click.echo(f"{len(rows)} records, every one verified in the log", err=True)


def _unlocked(ctx: click.Context) -> tuple[StoredKey, Ed25519PrivateKey]:
    store = Keystore(ctx.obj["home"])
    info = store.info()
    return info, store.unlock(_passphrase())


def _sign(
    info: StoredKey, signing_key: Ed25519PrivateKey, kind: str, /, **fields: Any
) -> dict[str, Any]:
    stmt = make_statement(kind, info.party, system_clock(), os.urandom, **fields)
    return sign_statement(stmt, signing_key).to_wire()


def _classes_of(
    client: LedgerClient, info: StoredKey, key: Ed25519PrivateKey, asset_ids: tuple[str, ...]
) -> dict[str, str]:
    """The class of each of this wallet's ``asset_ids`` (each verified); exits on one that
    is not this wallet's."""
    mine = {a["id"]: a["cls"] for a in client.assets(RequestSigner(info.party, key), info.party)}
    for aid in asset_ids:
        if aid not in mine:
            fail(f"{aid} is not one of this wallet's assets")
    return {aid: str(mine[aid]) for aid in asset_ids}


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def assets(ctx: click.Context, as_json: bool) -> None:
    """My assets, each verified: its issue entry in the log, signed by its issuer."""
    with _errors():
        info, key = _unlocked(ctx)
        with _client(ctx) as client:
            rows = client.assets(RequestSigner(info.party, key), info.party)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        click.echo(f"{r['id']}  {r['cls']}  {r['status']}  issuer {r['issuer']}  verified")


@main.command()
@click.option("--counter", required=True, help="The counter's party id.")
@click.option("--scenario", required=True, help="Service scenario (e.g. bus_ticket).")
@click.option("--asset", "asset_ids", multiple=True, required=True, help="Asset id (repeat).")
@click.option("--fields", help="Comma-separated fields (default: all the scenario reads).")
@click.option("--hours", type=click.FloatRange(0.01, 24 * 366), default=24.0, show_default=True)
@click.option("--uses", type=click.IntRange(1, 100_000), default=10, show_default=True)
@click.pass_context
def grant(
    ctx: click.Context,
    counter: str,
    scenario: str,
    asset_ids: tuple[str, ...],
    fields: str | None,
    hours: float,
    uses: int,
) -> None:
    """Authorize a counter to read exactly these fields of these assets."""
    with _errors():
        info, key = _unlocked(ctx)
        with _client(ctx) as client:
            sc = client.scenario(scenario)
            scope: dict[str, list[str]] = {}
            for cls in _classes_of(client, info, key, asset_ids).values():
                scope[cls] = _csv(fields) if fields else list(sc["reads"].get(cls, []))
            now = system_clock()
            stmt = _sign(info, key, "grant.create", **create_fields(
                scenario=scenario, purpose=sc["purpose"], scope=scope, grantee=counter,
                not_before=format_ts(now - timedelta(minutes=1)),
                expires=format_ts(now + timedelta(hours=hours)), max_uses=uses,
                assets=list(asset_ids),
            ))  # fmt: skip
            _, receipt = client.submit(stmt)
    click.echo(f"{grant_id(info.party, stmt['stmt']['nonce'])}  seq {receipt.seq}  verified")


@main.command()
@click.pass_context
def grants(ctx: click.Context) -> None:
    """My grants, with their uses."""
    with _errors():
        info, key = _unlocked(ctx)
        with _client(ctx) as client:
            rows = client.grants(RequestSigner(info.party, key), info.party)
    for g in rows:
        to = g["grantee"] or "any counter (one-time)"
        click.echo(
            f"{g['id']}  {g['status']}  {g['scenario']}  to {to}  "
            f"uses {g['uses']}/{g['max_uses']}  until {g['expires']}"
        )


@main.command()
@click.argument("grant_ids", nargs=-1, required=True)
@click.pass_context
def revoke(ctx: click.Context, grant_ids: tuple[str, ...]) -> None:
    """Revoke grants (at once: the next read under them is refused)."""
    with _errors():
        info, key = _unlocked(ctx)
        with _client(ctx) as client:
            for gid in grant_ids:
                _, receipt = client.submit(_sign(info, key, "grant.revoke", grant=gid))
                click.echo(f"{gid}  revoked  seq {receipt.seq}  verified")


@main.command()
@click.option("--asset", "asset_id", required=True, help="The asset to show.")
@click.option("--scenario", required=True, help="Service scenario (e.g. bus_ticket).")
@click.option("--fields", help="Comma-separated fields (default: all the scenario reads).")
@click.option("--minutes", type=click.IntRange(1, 24 * 60), default=10, show_default=True)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="PNG/SVG path (no suffix)."
)
@click.option(
    "--bundle",
    "bundle_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write an offline presentation bundle (values, proofs) to this file.",
)
@click.pass_context
def present(
    ctx: click.Context,
    asset_id: str,
    scenario: str,
    fields: str | None,
    minutes: int,
    out: Path | None,
    bundle_path: Path | None,
) -> None:
    """A one-time QR presentation for any counter of the scenario: prints the token (and
    the code on a terminal), writes it as PNG and SVG. With --bundle, also exports the
    chosen fields' values with their proofs, for a counter that is offline (the export
    is recorded on the ledger as the holder's own disclosure)."""
    with _errors():
        info, key = _unlocked(ctx)
        with _client(ctx) as client:
            sc = client.scenario(scenario)
            cls = _classes_of(client, info, key, (asset_id,))[asset_id]
            chosen = _csv(fields) if fields else list(sc["reads"].get(cls, []))
            secret = os.urandom(32)
            now = system_clock()
            stmt = _sign(info, key, "grant.create", **create_fields(
                scenario=scenario, purpose=sc["purpose"], scope={cls: chosen}, grantee=None,
                not_before=format_ts(now - timedelta(minutes=1)),
                expires=format_ts(now + timedelta(minutes=minutes)), max_uses=1,
                assets=[asset_id], secret_hash=secret_hash(secret),
            ))  # fmt: skip
            grant_entry, _ = client.submit(stmt)
            if bundle_path is not None:
                _write_bundle(client, info, key, grant_entry, asset_id, chosen, secret, bundle_path)
        gid = grant_id(info.party, stmt["stmt"]["nonce"])
        token = Presentation(gid, asset_id, tuple(chosen), sc["purpose"], b64encode(secret))
        text = token.token()
        target = out or Path(ctx.obj["home"]) / "presentations" / gid
        target.parent.mkdir(parents=True, exist_ok=True)
        png, svg = write_qr(text, target)
    if sys.stdout.isatty():
        click.echo(terminal_qr(text))
    click.echo(text)
    click.echo(f"one-time grant {gid}, valid {minutes} min; QR: {png} {svg}", err=True)


def _write_bundle(
    client: LedgerClient,
    info: StoredKey,
    key: Ed25519PrivateKey,
    grant_entry: Entry,
    asset: str,
    fields: list[str],
    secret: bytes,
    path: Path,
) -> None:
    """Disclose ``fields`` of ``asset`` to this holder (verified like a counter's read) and
    write the bundle, every entry proved in one checkpoint."""
    mine = client.disclose(_sign(info, key, "asset.disclose", asset=asset, fields=fields))
    note, cp = client.checkpoint_note()
    bundle = Bundle(
        note, grant_entry, client.inclusion(grant_entry, cp), b64encode(secret),
        (BundleAsset(mine.issue, client.inclusion(mine.issue, cp), mine.disclosures),),
    )  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(bundle.to_json(), ensure_ascii=False) + "\n", encoding="utf-8")
    click.echo(f"offline bundle: {path} (proved in a tree of {cp.size})", err=True)


def _read_one(
    client: LedgerClient, info: StoredKey, key: Ed25519PrivateKey, fields: dict[str, Any]
) -> Any:
    return client.read(_sign(info, key, "access.read", **fields))


@main.command("read")
@click.argument("token", required=False)
@click.option(
    "--image", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="QR image."
)
@click.option("--grant", "grant_id_", help="A standing grant to this counter (with --asset).")
@click.option("--asset", help="The asset to read under --grant.")
@click.option("--scenario", help="The scenario of --grant (its purpose and fields).")
@click.option("--fields", help="Comma-separated fields (default: all the scenario reads).")
@click.option(
    "--bundle",
    "bundle_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Offline: check a holder's presentation bundle with no network; queue the record.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def read_cmd(
    ctx: click.Context,
    token: str | None,
    image: Path | None,
    grant_id_: str | None,
    asset: str | None,
    scenario: str | None,
    fields: str | None,
    bundle_path: Path | None,
    as_json: bool,
) -> None:
    """Read a presented token (or QR image), or an asset under a standing grant: the
    values, each verified against the issuer-signed digests, the issuer's signature, and
    the receipt in the log. With --bundle (offline mode), check the holder's bundle
    against this wallet's cached keys, checkpoint and revocations, and queue the read
    record, marked offline, for `wallet sync`."""
    if bundle_path is not None:
        if any(x is not None for x in (token, image, grant_id_)):
            fail("--bundle goes alone (no TOKEN, --image or --grant)")
        _read_offline(ctx, bundle_path, as_json)
        return
    with _errors():
        if sum(x is not None for x in (token, image, grant_id_)) != 1:
            fail("give one of TOKEN, --image, --grant or --bundle")
        info, key = _unlocked(ctx)
        with _client(ctx) as client:
            if grant_id_ is not None:
                if asset is None or scenario is None:
                    fail("--grant needs --asset and --scenario")
                sc = client.scenario(scenario)
                names = _csv(fields) if fields else None
                statement = _standing_read(sc, grant_id_, asset, names)
            else:
                p = Presentation.parse(decode_image(image) if image else str(token))
                statement = read_fields(p.grant, p.asset, list(p.fields), p.purpose, p.secret)
            result = _read_one(client, info, key, statement)
    if as_json:
        out = {"values": result.values, "asset": result.asset, "receipt": result.receipt.to_json()}
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    a = result.asset
    click.echo(f"{a['cls']} {a['id']} issued by {a['issuer']} ({a['status']}), all verified:")
    for name, value in result.values.items():
        click.echo(f"  {name}: {value}")
    click.echo(f"read recorded at seq {result.receipt.seq} in a tree of {result.checkpoint.size}")


def _read_offline(ctx: click.Context, path: Path, as_json: bool) -> None:
    home: Path = ctx.obj["home"]
    with _errors():
        store = OfflineStore(home)
        cache = store.load()
        vkey = TrustStore(home / "trust.json").load().get("vkey")
        if not isinstance(vkey, str):
            fail("no pinned log key: run `wallet sync` while online")
        bundle = Bundle.parse(path.read_bytes())
        info, key = _unlocked(ctx)
        verdict = verify_bundle(
            bundle, verifier=parse_verifier_key(vkey), suite=SUITES["sha256"],
            counter=info.party, counter_type=cache.counter_type, scenarios=cache.scenarios,
            keys=KeyCache(home / "keys.json").get, revoked=cache.revoked,
            revocations_as_of=cache.revocations_as_of, now=system_clock(),
        )  # fmt: skip
        for aid, _, _, values in verdict.assets:
            read = read_fields(verdict.grant, aid, list(values), verdict.purpose, bundle.secret)
            stmt = _sign(
                info, key, "access.read_offline", **offline_fields(read, verdict.checkpoint.size)
            )
            store.enqueue(stmt, bundle.checkpoint)
    if as_json:
        out = [{"asset": a, "cls": c, "issuer": i, "values": v} for a, c, i, v in verdict.assets]
        click.echo(json.dumps({"offline": True, "assets": out}, ensure_ascii=False))
    else:
        for aid, cls, issuer, values in verdict.assets:
            click.echo(f"{cls} {aid} issued by {issuer}, verified OFFLINE:")
            for name, value in values.items():
                click.echo(f"  {name}: {value}")
    click.echo(
        f"checked against checkpoint {verdict.checkpoint.size} and revocations as of "
        f"{verdict.revocations_as_of} (synced {cache.synced_at}); the read record is "
        "queued: run `wallet sync` once online",
        err=True,
    )


@main.command()
@click.pass_context
def sync(ctx: click.Context) -> None:
    """Back online: send the queued offline reads (each recorded, or refused and the
    refusal recorded; each bundle's checkpoint proved consistent with the log), then
    refresh what offline checks need: issuers' keys, scenarios, revocations."""
    home: Path = ctx.obj["home"]
    store = OfflineStore(home)
    sent = refused = 0
    with _errors():
        info = Keystore(home).info()
        with _client(ctx) as client:
            cp = client.checkpoint()
            for item in store.queued():
                client.check_consistent(client.open_note(item.checkpoint), cp)
                s = item.statement["stmt"]
                try:
                    _, receipt = client.submit(item.statement)
                    click.echo(f"offline read of {s['asset']} at {s['ts']}: recorded at seq "
                               f"{receipt.seq} (verified)")  # fmt: skip
                    sent += 1
                except ServerRefused as exc:
                    if exc.status >= 500 or exc.status == 429:
                        raise  # the server's trouble, not the record's: keep it queued
                    client.verify_refusal(exc)
                    where = f", recorded at seq {exc.receipt['seq']}" if exc.receipt else ""
                    click.echo(f"offline read of {s['asset']} at {s['ts']}: REFUSED by the "
                               f"ledger ({exc.reason or exc.status}){where}")  # fmt: skip
                    refused += 1
                store.done(item)
            me = client.party(info.party)
            for issuer in client.parties("issuer"):
                client.key_history(str(issuer["id"]), cp)
            as_of, revoked = client.revocations()
            store.save(OfflineCache(
                str(me.get("attrs", {}).get("counter_type", "")),
                {str(sc["scenario"]): sc for sc in client.scenarios()},
                revoked, as_of.size, format_ts(system_clock()),
            ))  # fmt: skip
    click.echo(
        f"synced at checkpoint {cp.size}: {sent} offline reads recorded, {refused} refused; "
        f"{len(revoked)} inactive assets cached"
    )


def _standing_read(
    sc: dict[str, Any], grant: str, asset: str, names: list[str] | None
) -> dict[str, Any]:
    """The fields of a read under a standing grant: ``names``, or every field the scenario
    reads when it reads one class only."""
    if names is None:
        reads = sc["reads"]
        if len(reads) == 1:
            names = list(next(iter(reads.values())))
        else:
            fail("this scenario reads several classes: give --fields")
    return read_fields(grant, asset, names, sc["purpose"])


@main.command()
@click.option("--application", required=True, help="Application type (e.g. hygiene_licence).")
@click.option("--scenario", required=True, help="The scenario the grants are for.")
@click.option(
    "--read", "reads", multiple=True, required=True,
    help="GRANT:ASSET:FIELD,FIELD (repeat): each asset to check, under its holder's grant.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def sheet(
    ctx: click.Context, application: str, scenario: str, reads: tuple[str, ...], as_json: bool
) -> None:
    """A cross-verification sheet (证明核查表): read every listed asset (each verified; a
    refusal is recorded and listed too), then sign the sheet of what was checked."""
    with _errors():
        info, key = _unlocked(ctx)
        with _client(ctx) as client:
            sc = client.scenario(scenario)
            items: list[dict[str, Any]] = []
            shown: list[dict[str, Any]] = []
            for spec in reads:
                parts = spec.split(":")
                if len(parts) != 3 or not all(parts):
                    fail(f"--read {spec!r}: expected GRANT:ASSET:FIELD,FIELD")
                grant, asset, names = parts
                fields = read_fields(grant, asset, _csv(names), sc["purpose"])
                try:
                    result = _read_one(client, info, key, fields)
                except ServerRefused as refused:
                    if not refused.verified:  # not recorded: the sheet cannot list it
                        raise
                    receipt = Receipt.from_json(refused.receipt)  # verified by client.read
                    outcome, values = "denied", {"refused": refused.reason}
                else:
                    receipt, outcome, values = result.receipt, "read", result.values
                items.append({"seq": receipt.seq, "leaf": receipt.leaf_hash.hex(),
                              "asset": asset, "outcome": outcome})  # fmt: skip
                shown.append({"asset": asset, "outcome": outcome, "values": values})
            stmt = _sign(info, key, "sheet.issue", application=application, items=items)
            _, receipt = client.submit(stmt)
    if as_json:
        click.echo(json.dumps({"sheet_seq": receipt.seq, "items": shown}, ensure_ascii=False))
        return
    for item in shown:
        click.echo(f"{item['asset']}  {item['outcome']}  {item['values']}")
    click.echo(f"sheet signed and recorded at seq {receipt.seq}")


@main.command("import")
@click.option(
    "--key", "key_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True, help="An unencrypted PKCS#8 PEM Ed25519 key (e.g. a demo party's).",
)  # fmt: skip
@click.option(
    "--role", type=click.Choice(["holder", "counter", "issuer", "auditor"]), required=True
)
@click.option("--party", help="The party id, if the key was rotated in (default: from the key).")
@click.pass_context
def import_key(ctx: click.Context, key_file: Path, role: str, party: str | None) -> None:
    """Adopt an existing key into this wallet, encrypted under a passphrase."""
    with _errors():
        store = Keystore(ctx.obj["home"])
        if store.exists():
            fail(f"{store.path} already holds a key")
        key = load_private_key(key_file)
        info = store.adopt(key, party or party_id(public_key_bytes(key)), role, _passphrase(True))
    click.echo(f"{info.party} {info.role} imported into {store.path}")


@main.command("export-key")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
    help="Where to write the key (a new file, owner-only).",
)  # fmt: skip
@click.pass_context
def export_key(ctx: click.Context, out: Path) -> None:
    """Write this wallet's private key as an unencrypted PKCS#8 PEM (RFC 8410), for the
    web pages' key import: the page keeps it non-extractable in the browser. Delete the
    file once imported."""
    with _errors():
        if out.exists():
            fail(f"{out} exists: not overwritten")
        info, key = _unlocked(ctx)
        if party_id(public_key_bytes(key)) != info.party:
            fail(f"{info.party}'s key was rotated in: the web pages cannot act as it yet")
        save_private_key(key, out)
    click.echo(f"{info.party}: key written to {out} (unencrypted: delete it after import)")


@main.command()
@click.pass_context
def rotate(ctx: click.Context) -> None:
    """Replace this wallet's key: the old key signs the new one into the ledger."""
    with _errors():
        store = Keystore(ctx.obj["home"])
        info = store.info()
        passphrase = _passphrase()
        old, new = store.rotate(passphrase)
        pop = b64encode(new.sign(pop_message(info.party, info.role)))
        stmt = _sign(info, old, "party.rotate", key=b64encode(public_key_bytes(new)), pop=pop)
        try:
            with _client(ctx) as client:
                _, receipt = client.submit(stmt)
        except BaseException:
            store.undo_rotation()  # the ledger did not take it: keep using the old key
            raise
    click.echo(f"{info.party} rotated at seq {receipt.seq}; the old key is in retired/")


@main.command()
@click.argument("asset")
@click.pass_context
def erase(ctx: click.Context, asset: str) -> None:
    """Erase one of my assets: its values are destroyed, the ledger keeps the record."""
    with _errors():
        info, key = _unlocked(ctx)
        with _client(ctx) as client:
            _, receipt = client.submit(_sign(info, key, "asset.erase", asset=asset,
                                             basis="holder_request"))  # fmt: skip
    click.echo(f"{asset} erased at seq {receipt.seq}")


# --- issuers --------------------------------------------------------------------------------


def _cell(field: dict[str, Any], text: str | None) -> Any:
    if text is None or text == "":  # None: a row shorter than the header
        return None
    if field["type"] == "int":
        try:
            return int(text)
        except ValueError:
            return text  # left to the schema check, which names the field
    return text


@main.command()
@click.option("--class", "cls_name", required=True, help="Asset class (e.g. health_certificate).")
@click.option(
    "--csv", "csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="Columns: @holder, @valid_from, @valid_until, [@supersedes,] then the class's fields.",
)  # fmt: skip
@click.pass_context
def issue(ctx: click.Context, cls_name: str, csv_file: Path) -> None:
    """Issue assets from a CSV file. Every row is checked against the class first; if any row
    is bad, the report names each bad row and nothing is issued. Each row is then one
    signed statement; a row the ledger refuses is reported and changes nothing."""
    _issue_csv(ctx, cls_name, csv_file, reissue=False)


@main.command()
@click.option("--class", "cls_name", required=True, help="Asset class (e.g. health_certificate).")
@click.option(
    "--csv", "csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="Columns: @holder, @valid_from, @valid_until, @supersedes, then the class's fields.",
)  # fmt: skip
@click.pass_context
def reissue(ctx: click.Context, cls_name: str, csv_file: Path) -> None:
    """Re-issue assets (a renewed or corrected licence): as `issue`, but every row must name
    in @supersedes the asset it replaces, which the ledger marks superseded in the same
    entry; reads of the old asset are refused from then on."""
    _issue_csv(ctx, cls_name, csv_file, reissue=True)


def _issue_csv(ctx: click.Context, cls_name: str, csv_file: Path, *, reissue: bool) -> None:
    import csv as csvmod
    from datetime import date

    from chainledger.assets import asset_id, check_values, digests_of, issue_fields
    from chainledger.assets import make_disclosures as salted
    from chainledger.crypto import SUITES

    with _errors():
        info, key = _unlocked(ctx)
        with _client(ctx) as client:
            cls = client.catalog_class(cls_name)
            fields = {f["name"]: f for f in cls["fields"]}
            try:
                with csv_file.open(newline="", encoding="utf-8-sig") as f:
                    rows = list(csvmod.DictReader(f))
            except (UnicodeDecodeError, csvmod.Error) as exc:
                reason = "not UTF-8" if isinstance(exc, UnicodeDecodeError) else str(exc)
                raise MalformedInput("CSV file", f"{reason}; nothing was issued") from None
            problems: list[str] = []
            prepared = []
            for n, row in enumerate(rows, start=2):  # line 1 is the header
                try:
                    holder = row.pop("@holder")
                    valid_from = row.pop("@valid_from")
                    valid_until = row.pop("@valid_until") or None
                    supersedes = row.pop("@supersedes", "") or None
                    values = {k: _cell(fields[k], v) if k in fields else v for k, v in row.items()}
                    values = {k: v for k, v in values.items() if v is not None}
                    check_values(cls, values, date.today())
                    if not holder or not valid_from:
                        raise ChainledgerError("holder and valid_from are required")
                    if reissue and not supersedes:
                        raise ChainledgerError("@supersedes must name the asset this replaces")
                except KeyError as exc:
                    problems.append(f"line {n}: missing column {exc}")
                    continue
                except ChainledgerError as exc:
                    problems.append(f"line {n}: {exc}")
                    continue
                prepared.append((n, holder, valid_from, valid_until, supersedes, values))
            if problems:
                for p in problems:
                    click.echo(p, err=True)
                fail(f"{len(problems)} of {len(rows)} rows are invalid; nothing was issued")
            verb = "re-issued" if reissue else "issued"
            refused = 0
            with click.progressbar(prepared, label="issuing", file=sys.stderr) as bar:
                for n, holder, valid_from, valid_until, supersedes, values in bar:
                    disclosures = salted(values, os.urandom)
                    digests = digests_of(SUITES["sha256"], disclosures)
                    fields_ = issue_fields(
                        cls_name, holder, digests, valid_from, valid_until, supersedes
                    )
                    stmt = _sign(info, key, "asset.issue", **fields_)
                    try:
                        receipt = client.issue(stmt, disclosures)
                    except ServerRefused as exc:
                        refused += 1
                        click.echo(f"line {n}: refused: {exc}", err=True)
                        continue
                    aid = asset_id(info.party, stmt["stmt"]["nonce"])
                    replaced = f", superseding {supersedes}" if supersedes else ""
                    click.echo(f"line {n}: {aid} {verb} at seq {receipt.seq}{replaced}")
    if refused:
        fail(f"{refused} of {len(prepared)} rows were refused (the others were {verb})")


@main.command("revoke-asset")
@click.argument("asset")
@click.option("--reason", required=True, help="A reason code (e.g. lost, superseded_paper).")
@click.pass_context
def revoke_asset(ctx: click.Context, asset: str, reason: str) -> None:
    """Revoke an asset this issuer issued."""
    with _errors():
        info, key = _unlocked(ctx)
        with _client(ctx) as client:
            _, receipt = client.submit(_sign(info, key, "asset.revoke", asset=asset,
                                             reason=reason))  # fmt: skip
    click.echo(f"{asset} revoked at seq {receipt.seq}")


# --- auditors -------------------------------------------------------------------------------


@main.group()
def audit() -> None:
    """Audit queries, each signed and recorded as an entry before it is answered."""


def _audit_options(f: Any) -> Any:
    for name in ("holder", "asset", "counter", "issuer", "purpose", "since", "until"):
        f = click.option(f"--{name}", default=None)(f)
    return click.option("--outcome", type=click.Choice(["read", "denied"]), default=None)(f)


def _run_audit(ctx: click.Context, view: str, fmt: str, filters: dict[str, Any]) -> dict[str, Any]:
    query = {k: v for k, v in filters.items() if v is not None}
    query["view"] = view
    info, key = _unlocked(ctx)
    with _client(ctx) as client:
        stmt = _sign(info, key, "audit.query", query=query)
        return client.audit(RequestSigner(info.party, key), stmt, fmt)


@audit.command("trace")
@_audit_options
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def audit_trace(ctx: click.Context, /, as_json: bool, **filters: Any) -> None:
    """Reads and refusals matching the filters."""
    with _errors():
        out = _run_audit(ctx, "trace", "json", filters)
    if as_json:
        click.echo(json.dumps(out["rows"], ensure_ascii=False))
        return
    for r in out["rows"]:
        click.echo(f"{r['ts']}  seq {r['seq']}  {r['counter']}  {r['outcome']}  "
                   f"{r['holder'] or '-'}  {r['cls'] or '-'}  {r['reason'] or ''}")  # fmt: skip
    click.echo(f"{len(out['rows'])} rows; query recorded at seq {out['receipt']['seq']}", err=True)


@audit.command("anomalies")
@_audit_options
@click.pass_context
def audit_anomalies(ctx: click.Context, /, **filters: Any) -> None:
    """Refusal bursts, counters reading many holders, reads near expiry or out of hours."""
    with _errors():
        out = _run_audit(ctx, "anomalies", "json", filters)
    for a in out["anomalies"]:
        click.echo(f"{a['rule']}  {a['counter']}  seq {a['seq']}  {a['ts']}  {a['detail']}")
    click.echo(f"{len(out['anomalies'])} anomalies", err=True)


@audit.command("report")
@_audit_options
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "html"]), default="html")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.pass_context
def audit_report(ctx: click.Context, /, fmt: str, out: Path, **filters: Any) -> None:
    """A report (CSV access log; JSON or HTML summary with charts and anomalies)."""
    with _errors():
        result = _run_audit(ctx, "report", fmt, filters)
        out.write_text(result["report"], encoding="utf-8")
    click.echo(f"wrote {out}", err=True)


@main.command()
@click.option("--once", is_flag=True, help="Verify up to the current checkpoint, then stop.")
@click.option("--interval", type=click.FloatRange(0.5, 3600), default=10.0, show_default=True)
@click.pass_context
def monitor(ctx: click.Context, once: bool, interval: float) -> None:
    """Follow the log: re-verify every new entry (chain, signatures by the keys the log
    itself registered, the tree's root against each signed checkpoint)."""
    import time

    from wallet.monitor import Monitor

    with _errors():
        info, key = _unlocked(ctx)
        mon = Monitor(Path(ctx.obj["home"]) / "monitor.json")
        with _client(ctx) as client:
            while True:
                new, size = mon.step(client, RequestSigner(info.party, key))
                click.echo(f"ok: {size} entries verified ({new} new)")
                if once:
                    return
                time.sleep(interval)


@main.command()
@click.option("--once", is_flag=True, help="Cosign the current checkpoint, then stop.")
@click.option("--interval", type=click.FloatRange(0.5, 3600), default=30.0, show_default=True)
@click.pass_context
def witness(ctx: click.Context, once: bool, interval: float) -> None:
    """Witness the log (auditors): fetch its checkpoint, check it against the last one this
    witness cosigned (signature, consistency proof), cosign it (c2sp.org/tlog-cosignature)
    and hand the cosignature to the server. An inconsistent checkpoint is refused, never
    cosigned, and reported as an attack (exit 1)."""
    import time

    from chainledger.witness import cosign_checkpoint

    with _errors():
        info, key = _unlocked(ctx)
        if info.role != "auditor":
            fail("only an auditor's wallet witnesses the log")
        home = Path(ctx.obj["home"])
        # The witness keeps its own record of what it cosigned: its trust store.
        with LedgerClient(ctx.obj["server"], TrustStore(home / "witness.json")) as client:
            signer = RequestSigner(info.party, key)
            while True:
                note, cp = client.checkpoint_note()  # refuses rollback and forks
                line = cosign_checkpoint(note, info.party, key, int(time.time()))
                result = client.cosign(signer, cp.size, line)
                click.echo(f"cosigned {cp.origin} size {cp.size} root {cp.root.hex()} "
                           f"({result.get('cosignatures', '?')} cosignatures)")  # fmt: skip
                if once:
                    return
                time.sleep(interval)


@main.command()
@click.pass_context
def vkey(ctx: click.Context) -> None:
    """This wallet's public verifier keys in the C2SP form (name+keyid+base64): for signed
    notes (Ed25519), and, for an auditor, as a witness (timestamped cosignatures)."""
    from chainledger.note import ALG_ED25519, Verifier, key_id
    from chainledger.witness import witness_verifier

    with _errors():
        info = Keystore(ctx.obj["home"]).info()
    note_key = Verifier(
        info.party, key_id(info.party, ALG_ED25519, info.public_key), ALG_ED25519,
        info.public_key,
    )  # fmt: skip
    click.echo(f"note     {note_key.vkey()}")
    if info.role == "auditor":
        click.echo(f"witness  {witness_verifier(info.party, info.public_key).vkey()}")
