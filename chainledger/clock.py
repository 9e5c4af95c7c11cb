"""Time, passed in: a `Clock` is any callable returning an aware UTC datetime.

Timestamps on the wire are RFC 3339 UTC with exactly three fractional digits
and a ``Z`` suffix (``2026-11-26T13:45:00.123Z``), one textual form per instant
so they can be compared as strings and signed without ambiguity.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from chainledger.errors import MalformedInput

__all__ = ["Clock", "format_ts", "parse_ts", "system_clock"]

Clock = Callable[[], datetime]

_TS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def system_clock() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


def format_ts(when: datetime) -> str:
    """RFC 3339 UTC with millisecond precision (truncated, not rounded)."""
    if when.tzinfo is None:
        raise ValueError("naive datetime: pass an aware UTC datetime")
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def parse_ts(text: object, what: str = "ts") -> datetime:
    """Parse the one accepted timestamp form; `MalformedInput` for anything else."""
    if not isinstance(text, str) or _TS.fullmatch(text) is None:
        raise MalformedInput(
            what, "must be an RFC 3339 UTC timestamp like 2026-11-26T13:45:00.123Z"
        )
    try:
        base = datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        raise MalformedInput(what, "not a real calendar date and time") from None
    return base + timedelta(milliseconds=int(text[20:23]))
