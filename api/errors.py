"""RFC 9457 problem details: one table from chainledger errors to HTTP statuses.

Every error response is ``application/problem+json`` with a stable ``code``
(the chainledger error's code, or one of the HTTP-only codes here), a
``title`` and a ``detail`` that names fields but never quotes personal values.
This is the only place that knows HTTP statuses; route code raises
chainledger errors (or the `ApiError`s below) and never HTTPException.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from chainledger.errors import (
    BadSignature,
    ChainledgerError,
    Conflict,
    InvalidChallenge,
    LedgerCorrupt,
    MalformedInput,
    NotAllowed,
    NotFound,
    Overloaded,
    SchemaError,
    StoreUnavailable,
    VerificationError,
)
from chainledger.receipt import Receipt
from chainledger.rules import Refused, UnknownActor

PROBLEM = "application/problem+json"
log = logging.getLogger("chainledger.api")


class ApiError(Exception):
    """An error that only exists over HTTP (limits), with its status and code."""

    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(self, detail: str, *, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


class RateLimited(ApiError):
    status, code, title = 429, "rate_limited", "Too many requests"


class Forbidden(ApiError):
    """403 for a signed request. When the refusal was recorded (`api.deps.refuse`), it
    carries the ``reason`` code and the ``receipt`` of its ``request.denied`` entry."""

    status, code, title = 403, "forbidden", "Not allowed"

    def __init__(
        self, detail: str, *, code: str | None = None, reason: str | None = None,
        receipt: Receipt | None = None,
    ) -> None:  # fmt: skip
        super().__init__(detail)
        if code is not None:
            self.code = code
        self.reason = reason
        self.receipt = receipt


class UnsupportedMediaType(ApiError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


# Most specific first: the first class an error is an instance of decides.
STATUS_OF: list[tuple[type[ChainledgerError], int, str]] = [
    (Refused, 403, "Refused"),
    (UnknownActor, 401, "Unknown party"),
    (BadSignature, 401, "Bad signature"),
    # Stored data failing its check is the server's fault, not a caller's failed proof:
    # before VerificationError, its base.
    (LedgerCorrupt, 500, "Stored ledger data fails its check"),
    (VerificationError, 401, "Verification failed"),
    (Overloaded, 503, "Sequencer busy"),
    (StoreUnavailable, 503, "Store unavailable"),
    (Conflict, 409, "Conflict"),  # replays and clock skew too
    (NotAllowed, 403, "Not allowed"),
    (NotFound, 404, "Not found"),
    (SchemaError, 422, "Invalid field"),
    (InvalidChallenge, 400, "Impossible request"),
    (MalformedInput, 400, "Malformed input"),
]

#: Refusal reasons that are conflicts (the request could never be admitted as sent).
CONFLICT_REASONS = frozenset({"replay", "clock_skew"})

HTTP_CODES = {
    400: ("malformed", "Malformed input"),
    401: ("unauthenticated", "Unauthenticated"),
    403: ("forbidden", "Not allowed"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("too_large", "Request body too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    422: ("schema", "Invalid field"),
    429: ("rate_limited", "Too many requests"),
    503: ("overloaded", "Service unavailable"),
}


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    retry_after: float | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://chainledger.example/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    headers = {"Retry-After": str(max(1, round(retry_after)))} if retry_after else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def from_error(exc: ChainledgerError) -> JSONResponse:
    """The problem response for a chainledger error (a 500 only for what is not mapped)."""
    for cls, status, title in STATUS_OF:
        if isinstance(exc, cls):
            code = exc.code
            if isinstance(exc, Refused) and exc.reason in CONFLICT_REASONS:
                # A recorded replay or skewed request is still a 409, with the same code
                # as an unrecorded one.
                status, code = 409, exc.reason
            extra: dict[str, Any] = {}
            if isinstance(exc, Refused):
                extra["reason"] = exc.reason
                if exc.receipt is not None:
                    extra["receipt"] = exc.receipt.to_json()
            # StoreUnavailable is logged by the store, with the database's name (which a
            # client is not told).
            detail = _corrupt(exc, extra) if isinstance(exc, LedgerCorrupt) else str(exc)
            retry = exc.retry_after if isinstance(exc, Overloaded | StoreUnavailable) else None
            return problem(status, code, title, detail, retry_after=retry, **extra)
    log.error("unmapped chainledger error %s", type(exc).__name__)
    return problem(500, "internal", "Internal error", "the server could not complete the request")


def _corrupt(exc: LedgerCorrupt, extra: dict[str, Any]) -> str:
    """Log (ERROR) stored data that fails its check and say so: the seq and what failed
    (never a stored value: `LedgerCorrupt` messages quote none), and what the operator
    does next. ``seq`` goes into the problem as an extension member."""
    log.error("stored ledger data fails its check: %s; run `chainledger verify`", exc)
    extra["seq"] = exc.seq
    return f"{exc}; an operator should run `chainledger verify` on this ledger"


def _validation_detail(exc: RequestValidationError) -> tuple[int, str, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, "malformed", "the body is not valid JSON"
    parts = []
    for e in errors[:5]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
        # The message names the rule, never the value (``input`` is left out on purpose).
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return 422, "schema", "; ".join(parts)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem response."""

    async def on_chainledger(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ChainledgerError)
        return from_error(exc)

    async def on_api(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        extra: dict[str, Any] = {}
        if isinstance(exc, Forbidden) and exc.receipt is not None:
            extra = {"reason": exc.reason, "receipt": exc.receipt.to_json()}
        return problem(
            exc.status, exc.code, exc.title, exc.detail, retry_after=exc.retry_after, **extra
        )

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        status, code, detail = _validation_detail(exc)
        return problem(status, code, HTTP_CODES[status][1], detail)

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code, title = HTTP_CODES.get(exc.status_code, ("error", "Error"))
        return problem(exc.status_code, code, title, str(exc.detail))

    async def on_recursion(_: Request, exc: Exception) -> JSONResponse:
        return problem(400, "malformed", "Malformed input", "the body is nested too deeply")

    async def on_unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return problem(500, "internal", "Internal error", "the request could not be completed")

    app.add_exception_handler(ChainledgerError, on_chainledger)
    app.add_exception_handler(ApiError, on_api)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RecursionError, on_recursion)
    app.add_exception_handler(Exception, on_unexpected)
