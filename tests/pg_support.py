"""A throwaway PostgreSQL cluster for the tests of the PostgreSQL store.

`start_cluster` runs Debian's server binaries (``/usr/lib/postgresql/<version>/bin``, the
highest version installed): ``initdb`` into a new temporary directory, then ``pg_ctl start``
on a free port of 127.0.0.1, its unix socket inside that directory. Trust authentication, and
nothing listens beyond loopback. fsync stays on (the store's durability is part of what runs).

PostgreSQL refuses to run as root: as root, the directory is handed to the ``postgres`` system
user (created by the Debian package) and the binaries run as that user through ``runuser``.

The cluster's default collation is ICU ``en-US`` when the server has ICU (so any text
column that forgot ``COLLATE "C"`` sorts differently from SQLite, and a test sees it).

Missing binaries are an error with what to install, never a skip: `scripts/test` installs
Debian's ``postgresql`` package when they are missing.

A run killed by a signal never stops its clusters. So each cluster directory (name prefix
`PREFIX`, in the temporary directory) holds an `OWNER_FILE` naming the process that
started it (its pid and start time, so a reused pid does not count), and every
`start_cluster` first sweeps (`sweep_orphans`): a directory of ours whose owner is gone
is stopped (``pg_ctl stop -m immediate``) and removed. Nothing else is ever touched: not
a directory without a readable owner file, not one whose owner lives, not one whose
server will not stop.
"""

from __future__ import annotations

import itertools
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

__all__ = [
    "PgCluster",
    "find_bindir",
    "release_together",
    "run_together",
    "start_cluster",
    "sweep_orphans",
]

BIN_GLOB = "/usr/lib/postgresql/*/bin/initdb"
SUPERUSER = "postgres"
#: The name prefix of every cluster directory this helper makes (standbys included).
PREFIX = "chainledger-pg-"
#: In a cluster directory: {"pid": ..., "start": ..., "bindir": ...} of its owner process.
OWNER_FILE = "chainledger-owner.json"


class PostgresMissing(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_bindir() -> Path:
    """The bin directory of the highest PostgreSQL version installed (Debian layout)."""
    found: list[tuple[tuple[int, ...], Path]] = []
    for initdb in Path("/").glob(BIN_GLOB.lstrip("/")):
        version = initdb.parent.parent.name
        if re.fullmatch(r"\d+(\.\d+)*", version) and (initdb.parent / "pg_ctl").exists():
            found.append((tuple(int(p) for p in version.split(".")), initdb.parent))
    if not found:
        raise PostgresMissing(
            f"no PostgreSQL server binaries ({BIN_GLOB}): the PostgreSQL store's tests need "
            "them; install Debian's package (apt-get install postgresql), as scripts/test does"
        )
    return max(found)[1]


def _process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot, from /proc), or None if
    there is no such process (or no /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22; the command name (field 2) may hold spaces and parentheses.
    return stat.rsplit(")", 1)[1].split()[19]


def _make_root(kind: str, bindir: Path) -> Path:
    """A new cluster directory, its owner file (this process) written before anything
    else goes in it, so that a sweep never finds one of ours without an owner for long."""
    root = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{kind}"))
    owner = {"pid": os.getpid(), "start": _process_start(os.getpid()), "bindir": str(bindir)}
    (root / OWNER_FILE).write_text(json.dumps(owner), encoding="utf-8")
    return root


def _orphaned(root: Path) -> Path | None:
    """The bindir recorded in ``root``'s owner file if ``root`` is one of ours whose owner
    process is gone; None if it is not ours (no readable owner file) or its owner lives."""
    try:
        owner = json.loads((root / OWNER_FILE).read_text(encoding="utf-8"))
        pid, start, bindir = int(owner["pid"]), owner["start"], Path(owner["bindir"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return None if _alive(pid, start) else bindir


def _alive(pid: int, start: str | None) -> bool:
    """Whether process ``pid`` runs and is the one that started at ``start`` (not a later
    process given the same pid)."""
    if Path("/proc/self/stat").exists():
        now = _process_start(pid)
        return now is not None and (start is None or now == start)
    try:  # no /proc: the kernel still knows whether the pid is taken
        os.kill(pid, 0)
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def sweep_orphans(tmp: Path | None = None) -> list[Path]:
    """Stop and remove every cluster directory of ours (`PREFIX`, with an `OWNER_FILE`)
    in ``tmp`` (default: the temporary directory) whose owner process is gone; return
    those removed. A server that does not stop keeps its directory (nothing is deleted
    under a running server)."""
    removed: list[Path] = []
    for root in sorted(Path(tmp or tempfile.gettempdir()).glob(f"{PREFIX}*")):
        if not root.is_dir() or root.is_symlink():
            continue
        bindir = _orphaned(root)
        if bindir is None:
            continue
        data = root / "data"
        if (data / "postmaster.pid").exists():
            as_user = ["runuser", "-u", SUPERUSER, "--"] if os.geteuid() == 0 else []
            stop = [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "stop", "-m", "immediate"]
            subprocess.run([*stop, "-w"], capture_output=True, timeout=120, check=False)
            status = subprocess.run(
                [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "status"],
                capture_output=True,
                timeout=60,
                check=False,
            )
            if status.returncode == 0:  # still running: leave it alone
                continue
        shutil.rmtree(root, ignore_errors=True)
        removed.append(root)
    return removed


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    """A running throwaway cluster; `stop` stops it and removes its directory."""

    def __init__(self, root: Path, bindir: Path, port: int, as_user: list[str]) -> None:
        self.root = root
        self.bindir = bindir
        self.port = port
        self._as_user = as_user
        self._names = itertools.count()
        self._stopped = False

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url(), autocommit=True)

    def create_database(self) -> str:
        """A new empty database (a copy of template0); returns its URL."""
        name = f"t{os.getpid()}_{next(self._names)}"
        with self._admin() as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE template0")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop the database of ``url`` (ending any session still connected to it)."""
        name = url.rsplit("/", 1)[1]
        with self._admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [*self._as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data), *args],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start_standby(self) -> PgCluster:
        """A hot standby of this cluster (``pg_basebackup -R``: streaming replication), on
        its own port, read-only; `stop` it like a cluster."""
        root = _make_root("standby-", self.bindir)
        if self._as_user:
            pw = pwd.getpwnam(SUPERUSER)
            os.chown(root, pw.pw_uid, pw.pw_gid)
        standby = PgCluster(root, self.bindir, _free_port(), self._as_user)
        try:
            subprocess.run(
                [
                    *self._as_user, str(self.bindir / "pg_basebackup"), "-h", "127.0.0.1",
                    "-p", str(self.port), "-U", SUPERUSER, "-D", str(standby.data), "-R",
                    "-X", "stream", "--no-sync",
                ],
                check=True, capture_output=True, timeout=300,
            )  # fmt: skip
            _start(standby)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return standby

    def wait_for_standby(self, standby: PgCluster, timeout: float = 60.0) -> None:
        """Wait until ``standby`` has replayed everything this cluster committed so far."""
        with self._admin() as conn:
            row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
            assert row is not None
            target = row[0]
        deadline = time.monotonic() + timeout
        with psycopg.connect(standby.url(), autocommit=True) as conn:
            while True:
                row = conn.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)
                ).fetchone()
                if row is not None and row[0]:
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError("the standby did not catch up")
                time.sleep(0.02)

    def start(self) -> None:
        """Start the server again after ``pg_ctl("stop", ...)`` (same port and data)."""
        _start(self)

    def stop(self) -> None:
        """Stop the server (immediate: nothing in it is kept) and remove the directory."""
        if self._stopped:
            return
        self._stopped = True
        try:
            self.pg_ctl("stop", "-m", "immediate", "-w")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _start(cluster: PgCluster) -> None:
    options = (
        f"-p {cluster.port} -k {cluster.root} -c listen_addresses=127.0.0.1 "
        "-c max_connections=300 -c fsync=on"
    )
    log = str(cluster.root / "server.log")
    cluster.pg_ctl("start", "-w", "-t", "120", "-l", log, "-o", options)


def start_cluster() -> PgCluster:
    """initdb + pg_ctl start in a new temporary directory, after `sweep_orphans`; see the
    module docstring."""
    bindir = find_bindir()
    sweep_orphans()
    root = _make_root("", bindir)
    as_user: list[str] = []
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam(SUPERUSER)
        except KeyError:
            shutil.rmtree(root, ignore_errors=True)
            raise PostgresMissing(
                f"running as root, but there is no {SUPERUSER!r} system user to run "
                "PostgreSQL as (Debian's postgresql package creates it)"
            ) from None
        os.chown(root, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", SUPERUSER, "--"]
    cluster = PgCluster(root, bindir, _free_port(), as_user)
    initdb = [
        *as_user, str(bindir / "initdb"), "-D", str(cluster.data), "-U", SUPERUSER,
        "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C.UTF-8",
    ]  # fmt: skip
    try:
        icu = subprocess.run(
            [*initdb, "--locale-provider=icu", "--icu-locale=en-US"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if icu.returncode != 0:  # a server built without ICU: the libc default collation
            shutil.rmtree(cluster.data, ignore_errors=True)
            subprocess.run(initdb, check=True, capture_output=True, text=True, timeout=300)
        _start(cluster)
    except subprocess.CalledProcessError as exc:
        log = root / "server.log"
        detail = (exc.stderr or b"").decode() if isinstance(exc.stderr, bytes) else exc.stderr
        if log.exists():
            detail = f"{detail}\n{log.read_text(errors='replace')}"
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"could not start a throwaway PostgreSQL cluster: {detail}") from None
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return cluster


# --- running things at once (the stores' concurrency tests, on either backend) ---------------


def run_together(targets: list[Callable[[], object]]) -> list[BaseException]:
    """Run each of ``targets`` in a thread of its own, released together by a barrier;
    return what they raised (nothing, if all went well)."""
    barrier = threading.Barrier(len(targets))
    errors: list[BaseException] = []

    def run(target: Callable[[], object]) -> None:
        try:
            barrier.wait()
            target()
        except BaseException as exc:  # reported to the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def release_together(
    procs: list[subprocess.Popen[str]], timeout: float = 120.0
) -> list[tuple[str, str]]:
    """Processes that each wait for one line on stdin before their work: send it to every
    one, then wait for all; their (stdout, stderr), which is "" where not piped."""
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    out: list[tuple[str, str]] = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=timeout)
        out.append((stdout or "", stderr or ""))
    return out
