"""``chainledger``: the operator's and auditor's command line.

No HTTP here: ``chainledger serve`` is added by `api.cli` (the console script), so
this package imports nothing from api/ or wallet/.

Exit status: 0 success; 1 ``verify`` found the ledger corrupt; 2 bad arguments
or refused input (one line on stderr, nothing changed).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import click

from chainledger.cli_support import (
    db_option,
    errors,
    fail,
    open_domain,
    open_ledger,
    require_exists,
)
from chainledger.crypto import party_id
from chainledger.domain import Domain, domain_rules
from chainledger.gc_tuning import settled_heap
from chainledger.ledger import DEFAULT_ORIGIN
from chainledger.location import Location
from chainledger.store.sqlite import SqliteStore
from chainledger.tiles_cli import tiles
from chainledger.verify import verify_ledger


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="chainledger")
def main() -> None:
    """Certificate-free city ledger: append-only, hash-chained, Merkle-verifiable."""


@main.command()
@db_option
@click.option("--origin", default=DEFAULT_ORIGIN, show_default=True, help="Log name (C2SP origin).")
@click.option(
    "--suite",
    type=click.Choice(["sha256", "sm3"]),
    default="sha256",
    show_default=True,
    help="Hash suite, fixed for the ledger's life.",
)
def init(db: Location, origin: str, suite: str) -> None:
    """Create a ledger: the genesis entry, the platform key (PATH.key) and the platform's
    vault and binding keys (PATH.secrets), both mode 0600 and outside the database."""
    with errors():
        domain = Domain.init(db, origin=origin, suite_name=suite)
        try:
            click.echo(
                f"initialized {db} ({origin}, {suite}); platform key in {db.key_path}, "
                f"vault and binding keys in {db.secrets_path}"
            )
            click.echo(domain.ledger.vkey)
        finally:
            domain.close()


@main.command()
@db_option
@click.argument("text")
def note(db: Location, text: str) -> None:
    """Append a platform-signed note (e.g. a key ceremony); print its receipt."""
    with open_ledger(db, writable=True) as ledger:
        receipt = ledger.append(ledger.platform_statement("note", text=text))
        click.echo(json.dumps(receipt.to_json(), ensure_ascii=False))


@main.command()
@db_option
def checkpoint(db: Location) -> None:
    """Print the latest signed checkpoint (C2SP signed note)."""
    with open_ledger(db) as ledger:
        click.echo(ledger.checkpoint(), nl=False)


@main.command()
@db_option
def vkey(db: Location) -> None:
    """Print the C2SP verifier key of the ledger's checkpoints."""
    with open_ledger(db) as ledger:
        click.echo(ledger.vkey)


@main.command()
@db_option
@click.option("--from", "start", type=click.IntRange(min=0), default=0, help="First seq.")
@click.option("--to", "end", type=click.IntRange(min=0), default=None, help="Stop before this seq.")
def export(db: Location, start: int, end: int | None) -> None:
    """Entries as JSON Lines: each line exactly the entry's canonical bytes (the Merkle leaf)."""
    with open_ledger(db) as ledger:
        size = ledger.size()
        if end is not None and end > size:
            fail(f"--to {end} is past the end of the ledger ({size} entries)")
        if end is not None and start > end:
            fail(f"--from {start} is after --to {end}")
        if start > size:
            fail(f"--from {start} is past the end of the ledger ({size} entries)")
        out = sys.stdout.buffer
        for _, data in ledger.entries(start, end):
            out.write(data + b"\n")
        out.flush()


@main.group()
def proof() -> None:
    """RFC 9162 proofs as proof JSON."""


@proof.command("inclusion")
@db_option
@click.option("--index", type=int, required=True, help="Leaf index (0-based seq).")
@click.option("--size", type=int, default=None, help="Tree size (default: latest checkpoint).")
def proof_inclusion(db: Location, index: int, size: int | None) -> None:
    """Inclusion proof of entry INDEX in the tree of SIZE."""
    with open_ledger(db) as ledger:
        click.echo(json.dumps(ledger.inclusion_proof(index, size).to_json()))


@proof.command("consistency")
@db_option
@click.option("--first", type=int, required=True, help="Older tree size.")
@click.option("--second", type=int, required=True, help="Newer tree size.")
def proof_consistency(db: Location, first: int, second: int) -> None:
    """Consistency proof from tree size FIRST to SECOND."""
    with open_ledger(db) as ledger:
        click.echo(json.dumps(ledger.consistency_proof(first, second).to_json()))


def _copy_private(src: Path, dst: Path) -> None:
    """Copy a key or secrets file, readable by its owner only (created so: never readable
    by others, not even for a moment). Refused (one line, exit 2) if ``dst`` exists."""
    if dst.exists():
        fail(f"{dst} exists: not overwritten")
    data = src.read_bytes()
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    dst.chmod(0o600)


def _copy_private_tree(src: Path, dst: Path) -> None:
    """Copy a directory of keys (the demo's): directories 0700, files 0600 (`_copy_private`).
    Refused if ``dst`` exists."""
    if dst.exists():
        fail(f"{dst} exists: not overwritten")
    dst.mkdir(mode=0o700)
    dst.chmod(0o700)
    for path in sorted(src.rglob("*")):
        target = dst / path.relative_to(src)
        if path.is_dir():
            target.mkdir(mode=0o700)
            target.chmod(0o700)
        elif path.is_file():
            _copy_private(path, target)


def _remove(written: list[Path], made: Path | None) -> None:
    """Undo the key files a failed restore wrote: each of ``written`` (a file, or the demo
    tree), then ``made``, the key directory it created, if that is empty by then."""
    for path in reversed(written):
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    if made is not None:
        with contextlib.suppress(OSError):
            made.rmdir()


@main.command()
@db_option
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
    help="The backup file to write (must not exist).",
)  # fmt: skip
@click.option(
    "--with-secrets", is_flag=True,
    help="Also copy the platform key and the vault secrets beside it (mode 0600).",
)  # fmt: skip
def backup(db: Location, out: Path, with_secrets: bool) -> None:
    """An online backup: a consistent copy taken while the ledger keeps serving, then
    verified in full. Without --with-secrets the key and secrets files are not copied
    (keep them in their own, safer, backup)."""
    with open_ledger(db) as ledger:
        if out.exists():
            fail(f"{out} exists: not overwritten")
        ledger.store.backup(out)
    copy = SqliteStore(out)
    try:
        with errors():
            report = verify_ledger(copy, rules=domain_rules())
    finally:
        copy.close()
    if with_secrets:
        for src, dst in zip(db.companions, Location.of(out).companions, strict=True):
            if src.exists():
                _copy_private(src, dst)
    click.echo(
        f"backup: {out}, {report.entries} entries, {report.checkpoints} checkpoints, "
        f"root {report.root.hex()}, verified" + (" (with key and secrets)" if with_secrets else "")
    )


@main.command()
@click.option(
    "--from", "src", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True, help="A backup written by `chainledger backup`.",
)  # fmt: skip
@db_option
def restore(src: Path, db: Location) -> None:
    """Restore a backup as a new ledger: the SQLite file ``--db PATH`` (which must not
    exist), or the PostgreSQL database ``--db URL``, which must hold no ledger yet (its
    key files go to the ``--keys`` directory, where they must not exist). The backup is
    verified first, with its platform key (``<backup>.key``, needed to go on appending),
    the restored ledger is verified too, and it continues the same chain."""
    backup = Location.of(src)
    if db.path is None:
        _restore_postgres(src, backup, db)
        return
    if db.exists():
        fail(f"{db} exists: restore into a new path")
    if not backup.key_path.exists():
        fail(f"no platform key beside the backup ({backup.key_path}): restore it next to it")
    with open_ledger(backup) as ledger:
        with errors():
            report = verify_ledger(ledger.store, key_file=backup.key_path, rules=ledger.rules)
        tmp = db.companion("restoring")
        tmp.unlink(missing_ok=True)
        with errors():
            ledger.store.backup(tmp)
    for s, d in zip(backup.companions, db.companions, strict=True):
        if s.exists():
            _copy_private(s, d)
    tmp.rename(db.path)
    click.echo(f"restored {db}: {report.entries} entries, root {report.root.hex()}, verified")


def _restore_postgres(src: Path, backup: Location, db: Location) -> None:
    """`restore` into PostgreSQL. Refused (one line, exit 2, nothing written) without the
    backup's platform key, when a key file (or demo directory) is already in the key
    directory, when the database already holds ledger rows, or, exit 1, when the backup
    does not verify. Then: the key files (platform key, secrets, ``.demo/`` if beside the
    backup) go to the key directory, mode 0600; the schema is created (the store's
    migrations) and every table copied in one transaction (`PostgresStore.restore`); on
    any failure there the database keeps no ledger row (an empty, migrated schema may
    stay) and the key files are removed again. Finally the restored ledger is verified and
    must have the backup's size and root."""
    from chainledger.store.postgres import PostgresStore, postgres_holds_ledger

    assert db.url is not None
    assert db.keys is not None
    if not backup.key_path.exists():
        fail(f"no platform key beside the backup ({backup.key_path}): restore it next to it")
    targets = [*db.companions, db.companion("demo")]
    for d in targets:
        if d.exists() or d.is_symlink():
            fail(f"{d} exists: not overwritten")
    with errors():
        if postgres_holds_ledger(db.url):
            fail(f"{db} already holds a ledger: restore into a database without one")
    with open_ledger(backup) as ledger:
        report = verify_ledger(ledger.store, key_file=backup.key_path, rules=ledger.rules)
    sources = [*backup.companions, backup.companion("demo")]
    made = None if db.keys.exists() else db.keys
    written: list[Path] = []
    try:
        with errors():
            db.keys.mkdir(mode=0o700, parents=True, exist_ok=True)
            for s, d in zip(sources, targets, strict=True):
                if s.is_dir():
                    written.append(d)
                    _copy_private_tree(s, d)
                elif s.exists():
                    written.append(d)
                    _copy_private(s, d)
            store = PostgresStore(db.url, create=True, pool_size=1)
            try:
                store.restore(src)
            finally:
                store.close()
    except BaseException:
        _remove(written, made)
        raise
    with open_ledger(db) as ledger:
        restored = verify_ledger(ledger.store, key_file=db.key_path, rules=ledger.rules)
    if (restored.entries, restored.root) != (report.entries, report.root):
        fail(f"{db} does not hold the backup's ledger after the restore", 1)
    click.echo(f"restored {db}: {report.entries} entries, root {report.root.hex()}, verified")


@main.command()
@db_option
def verify(db: Location) -> None:
    """Recompute the chain, signatures, Merkle nodes, checkpoints and projections."""
    with open_ledger(db) as ledger, settled_heap():
        if sys.stderr.isatty():
            from rich.progress import Progress

            with Progress(transient=True) as bar:
                task = bar.add_task("verifying", total=ledger.size())

                def progress(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                report = verify_ledger(
                    ledger.store, key_file=db.key_path, rules=ledger.rules, progress=progress
                )
        else:
            report = verify_ledger(ledger.store, key_file=db.key_path, rules=ledger.rules)
        click.echo(
            f"ok: {report.entries} entries, {report.checkpoints} checkpoints, "
            f"root {report.root.hex()}"
        )


@main.command()
@db_option
@click.option(
    "--scale",
    type=click.Choice(["small", "seed"]),
    default="small",
    show_default=True,
    help="small: a quick realistic set; seed: Liaocheng's launch figures.",
)
@click.option("--seed", "rng_seed", type=int, default=2024, show_default=True, help="Data seed.")
def demo(db: Location, scale: str, rng_seed: int) -> None:
    """Build a realistic data set on an initialized, empty ledger (keys in PATH.demo/)."""
    from chainledger.demo import SCALES, build_demo, demo_dir

    chosen = SCALES[scale]
    with open_domain(db, max_batch=4096) as domain, settled_heap():
        if domain.stats()["assets"]:
            fail(f"{db} already has assets: the demo builds on an empty ledger")
        if sys.stderr.isatty():
            from rich.progress import Progress

            with Progress(transient=True) as bar:
                tasks: dict[str, Any] = {}

                def progress(stage: str, done: int, total: int) -> None:
                    if stage not in tasks:
                        tasks[stage] = bar.add_task(stage, total=total)
                    bar.update(tasks[stage], completed=done, total=total)

                report = build_demo(
                    domain, chosen, seed=rng_seed, keys_dir=demo_dir(db), progress=progress
                )
        else:
            report = build_demo(domain, chosen, seed=rng_seed, keys_dir=demo_dir(db))
    click.echo(
        f"demo ({scale}) built in {report.seconds} s: {report.assets} assets, "
        f"{report.authorized} authorized, {report.grants} grants, {report.reads} reads, "
        f"{report.refusals} refusals, {report.erasures} erasures; keys in {report.keys_dir}"
    )


@main.command()
@db_option
@click.option(
    "--request", "request_file", type=click.Path(dir_okay=False, path_type=Path),
    required=True, help="The registration request `wallet init` printed (JSON).",
)  # fmt: skip
@click.option("--name", default="", help="Display name (issuers, counters, auditors).")
@click.option("--attrs", default="{}", help="Role attributes as JSON (e.g. counter_type).")
@click.option("--real-id", default=None, help="Holders: the identifier checked at the desk.")
def register(db: Location, request_file: Path, name: str, attrs: str, real_id: str | None) -> None:
    """Approve and register a party from its wallet's registration request (the platform
    signs it; a holder's real-world identifier is bound by keyed hash, off the ledger)."""
    from chainledger.encoding import b64decode

    require_exists(db)
    try:
        request = json.loads(request_file.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"cannot read the request: {exc.strerror or exc}: {request_file}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        fail("the request must be JSON")
    reg = request.get("registration", request) if isinstance(request, dict) else None
    try:
        attributes = json.loads(attrs)
    except json.JSONDecodeError:
        fail("--attrs must be JSON")
    if not isinstance(reg, dict) or not {"public_key", "role", "pop"} <= set(reg):
        fail("the request must hold public_key, role and pop")
    if not isinstance(attributes, dict):
        fail("--attrs must be a JSON object")
    with open_domain(db) as domain:
        key = b64decode(reg["public_key"], "public_key", 32)
        receipt = domain.register(key, str(reg["role"]), name=name, attrs=attributes,
                                  pop=str(reg["pop"]), real_id=real_id)  # fmt: skip
    click.echo(f"registered {party_id(key)} as {reg['role']} at seq {receipt.seq}")


@main.command()
@db_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def stats(db: Location, as_json: bool) -> None:
    """Statistics like the seed's: classes, assets, authorized assets, grants, reads, refusals."""
    with open_domain(db) as domain:
        data = domain.stats()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    click.echo(
        f"asset classes {data['classes']} ({data['personal_classes']} personal, "
        f"{data['enterprise_classes']} enterprise)\n"
        f"assets issued {data['assets']} (active {data['active_assets']})\n"
        f"assets authorized {data['authorized_assets']}\n"
        f"grants {data['grants']}\n"
        f"e-licence reads {data['reads']}\n"
        f"refused reads {data['refusals']}\n"
        "parties " + ", ".join(f"{k} {v}" for k, v in sorted(data["parties"].items()))
    )


def _auditor_key(path: Path) -> Any:
    from chainledger.crypto import load_private_key

    return load_private_key(path)


audit_key_option = click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The auditor's private key (PEM); the query is signed and recorded with it.",
)


def _filters(**filters: Any) -> dict[str, str]:
    return {k: v for k, v in filters.items() if v is not None}


@main.group()
def audit() -> None:
    """Auditor views (trace, anomalies, report); each is recorded on the ledger first."""


def _audit_options(f: Any) -> Any:
    for name in ("holder", "asset", "counter", "issuer", "purpose"):
        f = click.option(f"--{name}", default=None, help=f"Only this {name} (id).")(f)
    f = click.option("--outcome", type=click.Choice(["read", "denied"]), default=None)(f)
    f = click.option("--since", default=None, help="From this RFC 3339 UTC time.")(f)
    return click.option("--until", default=None, help="Before this RFC 3339 UTC time.")(f)


def _run_audit(db: Location, key_file: Path, query: dict[str, str], fmt: str, limit: int) -> Any:
    from chainledger.statement import make_statement, sign_statement

    with open_domain(db) as domain:
        with errors():
            key = _auditor_key(key_file)
        from chainledger.crypto import party_id, public_key_bytes

        stmt = make_statement(
            "audit.query", party_id(public_key_bytes(key)), domain.ledger.clock(),
            domain.ledger.rand, query=query,
        )  # fmt: skip
        receipt, answer = domain.audit(sign_statement(stmt, key), fmt, limit)
        click.echo(f"recorded as entry {receipt.seq}", err=True)
        return answer


@audit.command("trace")
@db_option
@audit_key_option
@_audit_options
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def audit_trace(db: Location, key_file: Path, limit: int, as_json: bool, **filters: Any) -> None:
    """Trace reads and refusals by holder, asset, counter, issuer, purpose and time."""
    from dataclasses import asdict

    rows = _run_audit(db, key_file, {"view": "trace", **_filters(**filters)}, "json", limit)
    if as_json:
        click.echo(json.dumps([asdict(r) for r in rows], ensure_ascii=False))
        return
    for r in rows:
        click.echo(
            f"{r.seq}\t{r.ts}\t{r.outcome}\t{r.reason or ''}\t{r.counter}\t{r.holder or ''}"
            f"\t{r.asset or ''}\t{r.cls or ''}\t{r.purpose or ''}"
        )


@audit.command("anomalies")
@db_option
@audit_key_option
@click.option("--since", default=None)
@click.option("--until", default=None)
@click.option("--json", "as_json", is_flag=True)
def audit_anomalies(
    db: Location, key_file: Path, since: str | None, until: str | None, as_json: bool
) -> None:
    """Refusal bursts, counters reading many holders, reads near expiry or outside hours."""
    from dataclasses import asdict

    found = _run_audit(
        db, key_file, {"view": "anomalies", **_filters(since=since, until=until)}, "json", 1
    )
    if as_json:
        click.echo(json.dumps([asdict(a) for a in found], ensure_ascii=False))
        return
    for a in found:
        click.echo(f"{a.rule}\t{a.counter}\t{a.seq}\t{a.ts}\t{a.detail}")


@audit.command("report")
@db_option
@audit_key_option
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "html"]), default="html")
@click.option("--since", default=None)
@click.option("--until", default=None)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
def audit_report(
    db: Location, key_file: Path, fmt: str, since: str | None, until: str | None, out: Path | None
) -> None:
    """Export a report (CSV access log, JSON or HTML summary with charts and anomalies)."""
    text = _run_audit(
        db, key_file, {"view": "report", **_filters(since=since, until=until)}, fmt, 1
    )
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}", err=True)


main.add_command(tiles)
