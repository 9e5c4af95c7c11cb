"""Reading a presented QR code from a photo, for counter terminals whose browser cannot.

A counter's page decodes the code itself where the browser has BarcodeDetector; where
it has not (most desktop browsers), it uploads the photo here. The token in a code is a
one-time grant id and secret, never a personal value, and it goes to the server anyway
in the counter's signed read; the image is decoded in memory and not kept or logged.
"""

from __future__ import annotations

import io
from typing import Any

from fastapi import APIRouter, Depends, Request
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
