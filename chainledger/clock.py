"""Time, passed in: a `Clock` is any callable returning an aware UTC datetime.

Timestamps on the wire are RFC 3339 UTC with exactly three fractional digits
and a ``Z`` suffix (``2026-11-26T13:45:00.123Z``), one textual form per instant
so they can be compared as strings and signed without ambiguity.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import UTC, date, datetime

from chainledger.errors import MalformedInput

__all__ = ["Clock", "check_ts", "format_ts", "parse_ts", "system_clock"]

Clock = Callable[[], datetime]

# [0-9], not \d: \d matches every Unicode digit, and int() accepts them too.
_TS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")


def system_clock() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


def format_ts(when: datetime) -> str:
    """RFC 3339 UTC with millisecond precision (truncated, not rounded)."""
    if when.tzinfo is None:
        raise ValueError("naive datetime: pass an aware UTC datetime")
    w = when.astimezone(UTC)
    # Not strftime: its %Y does not zero-pad years before 1000 on every platform.
    return (
        f"{w.year:04d}-{w.month:02d}-{w.day:02d}T"
        f"{w.hour:02d}:{w.minute:02d}:{w.second:02d}.{w.microsecond // 1000:03d}Z"
    )


@functools.lru_cache(maxsize=4096)
def _real_date(day: str) -> bool:
    try:
        date(int(day[0:4]), int(day[5:7]), int(day[8:10]))
    except ValueError:
        return False
    return True


def check_ts(text: object, what: str = "ts") -> str:
    """Raise `MalformedInput` unless ``text`` is the one accepted timestamp form; return it.

    The cheap check for hot paths that only need validity (verify reads every entry).
    """
    if (
        not isinstance(text, str)
        or _TS.fullmatch(text) is None
        or not _real_date(text[:10])
        or text[11:13] > "23"
        or text[14:16] > "59"
        or text[17:19] > "59"
    ):
        raise MalformedInput(
            what, "must be an RFC 3339 UTC timestamp like 2026-11-26T13:45:00.123Z"
        )
    return text


def parse_ts(text: object, what: str = "ts") -> datetime:
    """Parse the one accepted timestamp form; `MalformedInput` for anything else."""
    if not isinstance(text, str) or _TS.fullmatch(text) is None:
        raise MalformedInput(
            what, "must be an RFC 3339 UTC timestamp like 2026-11-26T13:45:00.123Z"
        )
    try:
        # Slicing the one fixed layout is ~20x faster than strptime on the hot path.
        return datetime(
            int(text[0:4]), int(text[5:7]), int(text[8:10]),
            int(text[11:13]), int(text[14:16]), int(text[17:19]),
            int(text[20:23]) * 1000, tzinfo=UTC,
        )  # fmt: skip
    except ValueError:
        raise MalformedInput(what, "not a real calendar date and time") from None
