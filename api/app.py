"""The FastAPI application factory: `create_app(settings)`.

No module-level state: each app opens its own ledger in its lifespan and
closes it on shutdown (draining the sequencer). `app_from_env` is the factory
uvicorn calls in each worker process (``chainledger serve``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api import errors, openapi, web
from api.limits import BodyLimit
from api.metrics import Metrics
from api.observe import Observe
from api.routes import platform, presentations, private, public, witness, writes
from api.server import Server
from api.settings import Settings
from chainledger.clock import Clock, system_clock
from chainledger.gc_tuning import settled_heap

DESCRIPTION = """\
The chainledger HTTP API: an append-only, hash-chained, Merkle-verifiable ledger of a
certificate-free city's data assets (e-licences).

* **Writes** are signed statements (`{"stmt", "sig"}`, Ed25519 over RFC 8785 bytes); the
  answer is a receipt: the entry, a C2SP signed checkpoint and an RFC 9162 inclusion proof.
* **Private reads** are RFC 9421 signed requests by the party asking.
* **The public log** (checkpoint, verifier key, proofs, statistics) needs no authentication.
* Every error is RFC 9457 `application/problem+json` with a stable `code`.
"""


def create_app(
    settings: Settings, *, clock: Clock = system_clock, serving: bool = False
) -> FastAPI:
    """The API over the ledger ``settings.db``; ``clock`` is the ledger's time (tests pass
    a fixed one). ``serving``: this process is a server that runs the app until it stops
    (`chainledger.gc_tuning.settled_heap` once it has started)."""
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        server = Server.open(settings, metrics, clock, serving=serving)
        app.state.server = server
        try:
            with settled_heap() if serving else nullcontext():
                yield
        finally:
            server.close()

    app = FastAPI(
        title="chainledger",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    errors.install(app)
    # The signed statements first: FastAPI tries the routes in this order, and counter
    # reads and other statements are most of the traffic (docs/profile.md section 6).
    app.include_router(writes.statement_router)
    app.include_router(public.router)
    app.include_router(writes.router)
    app.include_router(private.router)
    app.include_router(platform.router)
    app.include_router(witness.router)
    app.include_router(presentations.router)
    app.include_router(web.router)
    app.mount(web.STATIC_PATH, StaticFiles(directory=web.STATIC_DIR), name="static")
    signed = {
        (route.path, method)
        for router in (private.router, platform.router, witness.router)
        for route in router.routes
        for method in getattr(route, "methods", ())
    }
    openapi.install(app, signed)

    if settings.hello_endpoint:

        @app.get("/bench/hello", include_in_schema=False)
        async def hello() -> dict[str, str]:
            return {"hello": "world"}

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(Observe, metrics=metrics, log=settings.access_log)
    return app


def app_from_env() -> FastAPI:
    """For uvicorn's ``--factory`` (``chainledger serve``): settings from ``CHAINLEDGER_*``
    variables."""
    return create_app(Settings(), serving=True)
