"""The problem responses each route declares in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from api.models import Problem

_WHY = {
    400: "Malformed input (bad JSON, bad base64, impossible request).",
    401: "Missing, invalid or unknown signature.",
    403: "Not allowed; refusals of counter reads are recorded and carry their receipt.",
    404: "No such resource.",
    409: "Conflict: a replayed nonce or a timestamp outside the skew window.",
    413: "Request body too large.",
    415: "The body is declared as something other than JSON.",
    422: "A field fails its schema.",
    429: "Rate limited; see Retry-After.",
    500: "Stored ledger data fails its check (code ledger_corrupt, naming the seq): the "
    "operator runs `chainledger verify`. Never the answer to bad input.",
    503: "The sequencer is full, or the database is unreachable (store_unavailable); see "
    "Retry-After.",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status documented as a problem+json body."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        out[status] = {"model": Problem, "description": _WHY[status]}
    return out


def describe(status: int) -> str:
    return _WHY.get(status, "Error.")


PUBLIC = (400, 422, 429, 500, 503)
WRITE = (400, 401, 403, 404, 409, 413, 422, 429, 500, 503)
#: The routes whose body is a bare signed statement, read as JSON from the raw bytes.
STATEMENT_WRITE = (*WRITE, 415)
SIGNED = (400, 401, 403, 404, 409, 413, 422, 429, 500, 503)
