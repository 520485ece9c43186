"""QR tags: random tag tokens, their public URLs, and PNG/SVG renderings.

Pure helpers, no Flask/DB imports.  A *tag* is the opaque token printed (as
``<base_url>/q/<tag>``) on the label stuck to a lift car or a cylinder.
"""

from __future__ import annotations

import io
import re
import secrets

import qrcode
import qrcode.constants
import qrcode.image.svg

__all__ = [
    "TAG_BYTES",
    "new_tag",
    "is_well_formed_tag",
    "tag_url",
    "qr_matrix",
    "qr_png",
    "qr_svg",
]

# 16 bytes = 128 random bits.  Tags are public (anyone can photograph a
# label), so the token must not be derivable from the equipment code or
# guessable by enumeration: with 2**128 possibilities, scanning the URL space
# for other equipment is hopeless and accidental collisions are negligible
# even across billions of cylinders.  token_urlsafe uses the OS CSPRNG and an
# alphabet that needs no escaping in a URL path, and 22 characters keep the
# QR code small (version 3-4 at level M for a typical base URL).
TAG_BYTES = 16

# 128 bits in unpadded base64url = 21 full sextets + 2 bits, so the final
# character carries 2 data bits and 4 zero bits: it is one of A, Q, g, w.
_TAG_RE = re.compile(r"[A-Za-z0-9_-]{21}[AQgw]")

# Level M (~15 % recovery) tolerates scuffed/dirty labels while keeping the
# symbol small enough to scan from a printed 3 cm square.
_ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_M


def new_tag() -> str:
    """A fresh random tag token (22 URL-safe characters, 128 bits)."""
    return secrets.token_urlsafe(TAG_BYTES)


def is_well_formed_tag(s: object) -> bool:
    """Cheap shape check, so junk from scanners/bots never reaches the DB."""
    return isinstance(s, str) and _TAG_RE.fullmatch(s) is not None


def tag_url(base_url: str, tag: str) -> str:
    """Public URL encoded in the QR: ``<base_url without trailing />/q/<tag>``."""
    if not is_well_formed_tag(tag):
        raise ValueError(f"malformed tag: {tag!r}")
    return f"{base_url.rstrip('/')}/q/{tag}"


def _make(data: str, *, box_size: int = 10, border: int = 4, image_factory=None):
    qr = qrcode.QRCode(
        error_correction=_ERROR_CORRECTION,
        box_size=box_size,
        border=border,
        image_factory=image_factory,
    )
    qr.add_data(data)
    qr.make(fit=True)  # smallest version that holds the data
    return qr


def qr_matrix(data: str, *, border: int = 0) -> list[list[bool]]:
    """Module matrix (True = dark), for vector drawing (e.g. label PDFs)."""
    return _make(data, border=border).get_matrix()


def qr_png(data: str, *, box_size: int = 8, border: int = 4) -> bytes:
    """PNG bytes of the QR code; ``border`` is the quiet zone in modules."""
    img = _make(data, box_size=box_size, border=border).make_image()
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def qr_svg(data: str) -> bytes:
    """SVG bytes (single <path>, scales without blur for print/web)."""
    qr = _make(data, image_factory=qrcode.image.svg.SvgPathImage)
    return qr.make_image().to_string()
