"""One pure-ASGI middleware for the access log and the request metrics.

Each request gives one JSON log line: method, route *template* (``/v1/holders/
{holder}/history``, never the raw path or query string), status, milliseconds
and the authenticated party id when there is one. No body, header or personal
value is ever logged.
"""

from __future__ import annotations

import json
import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import Metrics

access_log = logging.getLogger("chainledger.access")


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


class Observe:
    def __init__(self, app: ASGIApp, metrics: Metrics, *, log: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - start
            route = route_template(scope)
            method = scope.get("method", "")
            self.metrics.observe(route, method, status, seconds)
            if self.log:
                party = scope.get("state", {}).get("party")
                access_log.info(
                    json.dumps(
                        {
                            "method": method,
                            "route": route,
                            "status": status,
                            "ms": round(seconds * 1000, 2),
                            "party": party,
                        },
                        separators=(",", ":"),
                    )
                )
