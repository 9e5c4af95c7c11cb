"""QR codes of presentation tokens, drawn and read for the web pages.

A citizen's page shows its one-time presentation as a QR code drawn here (segno), and
a counter's page decodes a photo of one itself where the browser has BarcodeDetector
and, where it has not (most desktop browsers), uploads the photo here. A token is a
one-time grant id and secret, never a personal value, and it reaches the server anyway
in the counter's signed read; tokens and images are handled in memory, in the request
body (never in a URL), and are neither kept nor logged.
"""

from __future__ import annotations

import io
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import public_limit
from api.responses import problems
from chainledger.errors import MalformedInput

router = APIRouter(dependencies=[Depends(public_limit)], tags=["presentations"])

PREFIX = "CLP1."  # wallet.presentation.PREFIX: the chainledger presentation token


def decode_token(image: bytes) -> str:
    """The chainledger token in a QR image; `MalformedInput` if there is none."""
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(image)) as img:
            found: list[Any] = list(zxingcpp.read_barcodes(img.convert("L")))
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        raise MalformedInput("image", "not a readable PNG, JPEG or WebP image") from None
    texts = [str(r.text) for r in found if str(r.text).startswith(PREFIX)]
    if not texts:
        raise MalformedInput("image", "no chainledger presentation code in it")
    return texts[0]


@router.post(
    "/v1/presentations/decode",
    responses=problems(400, 413, 429),
    summary="The presentation token in a photo of a QR code (for counter pages)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"image/*": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def decode(request: Request) -> dict[str, str]:
    # The app's body limit bounds the image (pages scale a photo down before sending it).
    image = await request.body()
    if not image:
        raise MalformedInput("image", "send one image as the body")
    return {"token": await run_in_threadpool(decode_token, image)}


class TokenIn(BaseModel):
    token: str = Field(max_length=2000, pattern=r"^CLP1\.[A-Za-z0-9_-]+$")


@router.post(
    "/v1/presentations/qr",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}, **problems(422, 429)},
    summary="A presentation token drawn as a QR code (SVG), for the citizen's page",
)
def qr(body: TokenIn) -> Response:
    import segno

    buf = io.BytesIO()
    segno.make(body.token, error="m").save(buf, kind="svg", scale=8, border=4, title="QR")
    return Response(buf.getvalue(), media_type="image/svg+xml")
