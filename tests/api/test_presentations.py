"""A counter page's fallback QR decoding: the token in a photo, or a clear 400."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import segno
from api_support import serve
from PIL import Image

TOKEN = "CLP1.eyJ0ZXN0IjoidG9rZW4ifQ"


def png(text: str) -> bytes:
    buf = io.BytesIO()
    segno.make(text, error="m").save(buf, kind="png", scale=6, border=4)
    return buf.getvalue()


def test_decode_reads_a_presentation_code_and_refuses_everything_else(
    cast_db: Any, tmp_path: Path
) -> None:
    _, db = cast_db
    jpeg = io.BytesIO()
    Image.open(io.BytesIO(png(TOKEN))).convert("RGB").save(jpeg, "JPEG", quality=90)
    with serve(db) as server:
        url = server.url + "/v1/presentations/decode"
        for image in (png(TOKEN), jpeg.getvalue()):
            r = httpx.post(url, content=image, headers={"content-type": "image/png"})
            assert r.status_code == 200, r.text
            assert r.json() == {"token": TOKEN}
        for bad, words in (
            (png("https://example.com/not-ours"), "no chainledger presentation code"),
            (b"not an image at all", "not a readable"),
            (b"", "send one image"),
            (png(TOKEN)[:60], "not a readable"),
        ):
            r = httpx.post(url, content=bad, headers={"content-type": "image/png"})
            assert r.status_code == 400, r.text
            assert r.headers["content-type"] == "application/problem+json"
            assert words in r.json()["detail"]
        r = httpx.post(
            url, content=b"\0" * (2 * 1024 * 1024), headers={"content-type": "image/png"}
        )
        assert r.status_code == 413
