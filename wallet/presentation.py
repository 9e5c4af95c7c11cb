"""One-time presentations: what a holder shows a counter as a QR code.

A presentation is a one-time grant on the ledger (any counter of the scenario's
type, one asset, the scenario's fields, one use, minutes of validity, and the
SHA-256 of a fresh 32-byte secret) plus a token that carries the grant id, the
asset, the fields, the purpose and the secret itself. Only the hash of the secret
is on the ledger; whoever scans the token can read once, within the grant.

Token: ``CLP1.`` + base64url (no padding) of the canonical JSON
``{"asset", "fields", "grant", "purpose", "secret", "v": 1}``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chainledger.encoding import b64decode, canonical
from chainledger.errors import MalformedInput

__all__ = ["PREFIX", "Presentation", "decode_image", "write_qr"]

PREFIX = "CLP1."
_MEMBERS = {"asset", "fields", "grant", "purpose", "secret", "v"}
MAX_TOKEN = 2000


@dataclass(frozen=True, slots=True)
class Presentation:
    grant: str
    asset: str
    fields: tuple[str, ...]
    purpose: str
    secret: str  # base64 of 32 bytes

    def token(self) -> str:
        body = canonical(
            {
                "v": 1, "grant": self.grant, "asset": self.asset, "fields": list(self.fields),
                "purpose": self.purpose, "secret": self.secret,
            }
        )  # fmt: skip
        return PREFIX + base64.urlsafe_b64encode(body).decode("ascii").rstrip("=")

    @classmethod
    def parse(cls, token: str) -> Presentation:
        """Parse untrusted text; raises `MalformedInput` naming what is wrong."""
        token = token.strip()
        if len(token) > MAX_TOKEN:
            raise MalformedInput("presentation token", "too long")
        if not token.startswith(PREFIX):
            raise MalformedInput("presentation token", f"must start with {PREFIX}")
        payload = token[len(PREFIX) :]
        try:
            raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
            data = json.loads(raw.decode("utf-8"))
        except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):  # too deep
            raise MalformedInput("presentation token", "not base64url JSON") from None
        if not isinstance(data, dict) or set(data) != _MEMBERS or data["v"] != 1:
            raise MalformedInput("presentation token", "unknown version or members")
        fields = data["fields"]
        if not (isinstance(fields, list) and fields and all(isinstance(f, str) for f in fields)):
            raise MalformedInput("presentation token", "fields must be a list of names")
        for name in ("grant", "asset", "purpose", "secret"):
            if not isinstance(data[name], str) or not data[name]:
                raise MalformedInput("presentation token", f"{name} must be a string")
        b64decode(data["secret"], "presentation secret", 32)
        return cls(data["grant"], data["asset"], tuple(fields), data["purpose"], data["secret"])


def write_qr(token: str, out: Path) -> tuple[Path, Path]:
    """Write the token as ``out.png`` and ``out.svg`` (segno); return both paths."""
    import segno

    qr = segno.make(token, error="m")
    png, svg = out.with_suffix(".png"), out.with_suffix(".svg")
    qr.save(str(png), scale=6, border=4)
    qr.save(str(svg), scale=4, border=4)
    return png, svg


def terminal_qr(token: str) -> str:
    """The token as a QR code drawn with block characters (for a terminal)."""
    import io

    import segno

    buf = io.StringIO()
    segno.make(token, error="m").terminal(out=buf, compact=True)
    return buf.getvalue()


def decode_image(path: Path) -> str:
    """The chainledger token in a QR image (zxing-cpp); raises `MalformedInput`."""
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            found: list[Any] = list(zxingcpp.read_barcodes(image.convert("L")))
    except (OSError, UnidentifiedImageError):
        raise MalformedInput("QR image", f"{path} is not a readable image") from None
    texts = [r.text for r in found if str(r.text).startswith(PREFIX)]
    if not texts:
        raise MalformedInput("QR image", "no chainledger presentation code in it")
    return str(texts[0])
