"""``chainledger tiles``: publish the ledger as static tiles (c2sp.org/tlog-tiles).

Registered on `chainledger.cli.main`; it opens the ledger as every other command does
(`chainledger.cli_support`), so ``--db`` means here what it means everywhere.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import click

from chainledger.cli_support import db_option, open_ledger
from chainledger.location import Location
from chainledger.tiles import TilesResult, write_tiles

__all__ = ["tiles"]


def _summary(result: TilesResult) -> str:
    written = len(result.written)
    what = f"wrote {written} files" if written else "up to date"
    if result.removed:
        what += f", removed {len(result.removed)} superseded partial tiles"
    return f"tiles: {result.size} entries, root {result.root.hex()}: {what}"


@click.command()
@db_option
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The directory to publish (served as the log's URL prefix).",
)
@click.option(
    "--watch",
    type=click.FloatRange(min=0.1),
    default=None,
    metavar="SECONDS",
    help="Keep the tiles up to date: run again every SECONDS until SIGINT or SIGTERM.",
)
@click.option(
    "--keep-partials",
    is_flag=True,
    help="Keep partial tiles after their full tile is written (default: remove them).",
)
def tiles(db: Location, out: Path, watch: float | None, keep_partials: bool) -> None:
    """Write the latest checkpoint, hash tiles and entry bundles into OUT (c2sp.org/tlog-tiles)
    for any static file server or CDN. Only new files are written, each atomically, and the
    checkpoint last; clients build inclusion and consistency proofs from the tiles."""
    with open_ledger(db) as ledger, _Stopper() as stop:
        try:
            while True:
                # Ledger.checkpoint: the stored note with its witnesses' cosignatures appended.
                result = write_tiles(
                    ledger.store, out, checkpoint=ledger.checkpoint(), keep_partials=keep_partials
                )
                if watch is None or result.written:
                    click.echo(_summary(result))
                if watch is None:
                    return
                stop.sleep(watch)
        except _Stopped:
            return


class _Stopped(Exception):
    """Raised by `_Stopper`'s signal handler, only while the loop sleeps."""


class _Stopper:
    """How ``--watch`` is stopped (SIGINT from a person, SIGTERM from a service manager):
    a signal during a run only marks the stop, and the run finishes (every file whole,
    the checkpoint last); during the sleep between runs it ends the loop at once. Nothing
    is raised in the middle of a run, and no lock is taken in the handler. The previous
    handlers are restored on exit."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested = False
        self.sleeping = False
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        self.requested = True
        if self.sleeping:
            raise _Stopped

    def sleep(self, seconds: float) -> None:
        """Sleep between runs; `_Stopped` if a stop was or is asked for."""
        try:
            self.sleeping = True
            if self.requested:  # asked during the run just finished
                raise _Stopped
            time.sleep(seconds)
        finally:
            self.sleeping = False

    def __enter__(self) -> _Stopper:
        self._previous = {sig: signal.signal(sig, self._handle) for sig in self.SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
