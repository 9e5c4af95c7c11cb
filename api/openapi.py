"""The OpenAPI document, made exact where FastAPI's defaults are not.

* Every error response is ``application/problem+json`` with the `Problem` schema
  (FastAPI would announce ``application/json``, and its own ``HTTPValidationError``
  for 422, neither of which this API ever sends).
* 429 and 503 document their ``Retry-After`` header.
* Routes that need an RFC 9421 signature say so through a security scheme.
* OpenAPI links (section 4.8.20) say how one answer feeds the next request: a receipt's
  seq and tree size to its inclusion proof and its entry, the log's size to proofs, a
  consistency proof's sizes to an inclusion proof (schemathesis follows them statefully).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.responses import describe

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}
SIGNATURE_SCHEME = {
    "httpMessageSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "Signature",
        "description": "RFC 9421 HTTP Message Signature (with Signature-Input and, for a "
        "body, Content-Digest): label and tag `chainledger`, alg ed25519, keyid = party id, "
        "covering @method, @path, @query (and content-digest), with created, expires and a "
        "single-use nonce.",
    }
}


_RECEIPT = {
    "InclusionProofOfTheEntry": (
        "GET /v1/proofs/inclusion",
        {"index": "$response.body#/seq", "size": "$response.body#/inclusion/tree_size"},
        "The entry's inclusion proof in the tree of its receipt's checkpoint.",
    ),
    "TheEntry": (
        "GET /v1/entries",
        {"start": "$response.body#/seq", "limit": 1},
        "The entry itself, as stored (a signed request).",
    ),
    "ConsistencyFromTheCheckpoint": (
        "GET /v1/proofs/consistency",
        {"first": "$response.body#/inclusion/tree_size"},
        "A consistency proof from the receipt's checkpoint to a later tree.",
    ),
}
#: (source operation, status) -> link name -> (target operation, parameters, description).
LINKS: dict[tuple[str, str], dict[str, tuple[str, dict[str, Any], str]]] = {
    ("POST /v1/statements", "200"): _RECEIPT,
    ("POST /v1/assets", "200"): _RECEIPT,
    ("GET /healthz", "200"): {
        "InclusionProofInTheLog": (
            "GET /v1/proofs/inclusion",
            {"size": "$response.body#/size"},
            "An inclusion proof in the tree of the log's current size.",
        ),
        "ConsistencyToTheLog": (
            "GET /v1/proofs/consistency",
            {"second": "$response.body#/size"},
            "A consistency proof to the log's current size.",
        ),
    },
    ("GET /v1/proofs/consistency", "200"): {
        "InclusionProofOfTheFirstNewEntry": (
            "GET /v1/proofs/inclusion",
            {"index": "$response.body#/first", "size": "$response.body#/second"},
            "The inclusion proof of the first entry the larger tree added.",
        ),
    },
}


def _links(doc: dict[str, Any]) -> None:
    """Add `LINKS` to the responses they start from (by operationId, which FastAPI made)."""
    ops = {
        f"{method.upper()} {path}": op
        for path, operations in doc.get("paths", {}).items()
        for method, op in operations.items()
    }
    for (source, status), links in LINKS.items():
        response = ops[source]["responses"][status]
        response["links"] = {
            name: {
                "operationId": ops[target]["operationId"],
                "parameters": parameters,
                "description": description,
            }
            for name, (target, parameters, description) in links.items()
        }


def _fix(doc: dict[str, Any], signed_paths: set[tuple[str, str]]) -> dict[str, Any]:
    for path, operations in doc.get("paths", {}).items():
        for method, op in operations.items():
            for status, response in op.get("responses", {}).items():
                if not status.isdigit() or int(status) < 400:
                    continue
                response["content"] = {"application/problem+json": {"schema": PROBLEM_REF}}
                if response.get("description") in (None, "", "Validation Error"):
                    response["description"] = describe(int(status))
                if status in ("429", "503"):
                    response["headers"] = RETRY_AFTER
            if (path, method.upper()) in signed_paths:
                op["security"] = [{"httpMessageSignature": []}]
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    doc["components"]["securitySchemes"] = SIGNATURE_SCHEME
    _links(doc)
    return doc


def install(app: FastAPI, signed_paths: set[tuple[str, str]]) -> None:
    """Replace ``app.openapi`` with the exact document (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = _fix(doc, signed_paths)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
