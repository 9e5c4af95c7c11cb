"""``chainledger tiles``: publish the ledger as static tiles (c2sp.org/tlog-tiles).

Registered on `chainledger.cli.main`; it opens the ledger as every other command does
(`chainledger.cli_support`), so ``--db`` means here what it means everywhere.
"""

from __future__ import annotations

import time
from pathlib import Path

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
    help="Keep the tiles up to date: run again every SECONDS until interrupted.",
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
    with open_ledger(db) as ledger:
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
                time.sleep(watch)
        except KeyboardInterrupt:  # how --watch is stopped; every file is whole
            return
