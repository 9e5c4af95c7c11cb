"""FastAPI dependencies (``Annotated``): the server, the authenticated caller, limits."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, NoReturn

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from api.errors import Forbidden
from api.httpsig import verify_request
from api.limits import client_address
from api.server import Server
from chainledger.errors import ClockSkew, Replay
from chainledger.receipt import Receipt
from chainledger.rules import Refused, UnknownActor, refusal_reason
from chainledger.store.base import PartyRow


# Dependencies that neither block nor wait are ``async def``: FastAPI runs a plain ``def``
# dependency in its thread pool, a thread hop per request that cost the event loop more
# than the work itself (a py-spy profile of counter reads: docs/profile.md).
async def get_server(request: Request) -> Server:
    server: Server = request.app.state.server
    return server


Srv = Annotated[Server, Depends(get_server)]


async def public_limit(request: Request, server: Srv) -> None:
    """Unauthenticated requests: one bucket per client address."""
    server.public_limiter.take(client_address(request.scope))


def _party(server: Server, party_id: str) -> PartyRow:
    party = server.domain.store.party(party_id)
    if party is None:
        raise UnknownActor(f"no party {party_id} is registered")
    return party


def wire_url(request: Request) -> str:
    """The request's path and query as sent (the signature covers their encoded spelling)."""
    raw = request.scope.get("raw_path") or request.scope["path"].encode("utf-8")
    query = request.scope.get("query_string", b"")
    target = raw.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
    return "http://server" + target


async def signed_caller(request: Request, server: Srv) -> PartyRow:
    """The party whose RFC 9421 signature covers this request (method, path, query and
    the body's Content-Digest), with its nonce claimed once; must be active."""
    body = await request.body()
    looked_up: dict[str, PartyRow] = {}

    def resolve_key(party_id: str) -> bytes:
        looked_up[party_id] = _party(server, party_id)
        return looked_up[party_id].public_key

    def check() -> str:
        return verify_request(
            method=request.method,
            url=wire_url(request),
            headers=list(request.headers.items()),
            body=body,
            resolve_key=resolve_key,
            nonces=server.nonces,
            now=server.domain.ledger.clock(),  # the ledger's clock, as for statements
            max_age=timedelta(seconds=server.settings.signature_max_age_seconds),
            skew=timedelta(seconds=server.settings.skew_seconds),
        )

    try:
        party_id = await run_in_threadpool(check)  # SQLite reads and the nonce write block
    except (Replay, ClockSkew) as exc:
        party = getattr(exc, "party", None)
        if party is None:
            raise
        # The signature verified: a known party replayed or mistimed it. Record that.
        server.limiter.take(party)
        reason = refusal_reason(exc)
        receipt = await record_refusal(request, server, party, reason)
        raise Refused(reason, str(exc), receipt) from None
    server.limiter.take(party_id)
    party = looked_up[party_id]  # the row whose key verified the signature
    if party.status != "active":
        # A suspended key (compromised, perhaps stolen) still signs: record its use.
        await refuse(request, server, party, "actor_suspended",
                     f"party {party_id} is {party.status}", code="not_allowed")  # fmt: skip
    request.state.party = party_id
    return party


async def record_refusal(
    request: Request, server: Server, party: str, reason: str
) -> Receipt | None:
    """Record the refusal of ``party``'s signed request (authenticated: its signature
    verified) as a ``request.denied`` entry: the party, the method and route template
    (never a path with values), the SHA-256 of its signature header, ``reason``.
    A request already recorded as refused for ``reason`` gets that first record's receipt
    (recorded once: see `chainledger.domain.Domain.record_denied`); None only if it cannot
    be read back."""
    route = getattr(request.scope.get("route"), "path", "?")
    attempt = request.headers.get("signature", "").encode("latin-1", "replace")
    return await run_in_threadpool(
        server.domain.record_denied, party, f"{request.method} {route}", attempt, reason
    )


async def refuse(
    request: Request, server: Server, party: PartyRow, reason: str, detail: str,
    *, code: str = "forbidden",
) -> NoReturn:  # fmt: skip
    """Record the authenticated ``party``'s refused request (`record_refusal`), then raise
    the 403 problem ``code`` carrying ``reason`` and the receipt of that record."""
    receipt = await record_refusal(request, server, party.id, reason)
    raise Forbidden(detail, code=code, reason=reason, receipt=receipt)


Caller = Annotated[PartyRow, Depends(signed_caller)]


async def require_role(request: Request, server: Server, party: PartyRow, *roles: str) -> None:
    """Refuse (and record, reason ``role``) a signed request by a party of another role."""
    if party.role not in roles:
        await refuse(request, server, party, "role",
                     f"a {party.role} may not do this (needs {' or '.join(roles)})")  # fmt: skip
