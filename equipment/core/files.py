"""Evidence files (maintenance photos today; hazard evidence next) stored by content hash.

The type is sniffed from the bytes, never taken from the name or the declared content type. Files live under
the instance folder (`files/ab/abcdef...`), written once and never changed, so the sha256 recorded in a record
and in the history chain names the exact bytes.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from flask import current_app

from equipment.core.errors import Invalid

MAX_BYTES = 10 * 1024 * 1024
SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"%PDF-", "application/pdf"))


def sniff(data: bytes) -> str | None:
    return next((kind for magic, kind in SIGNATURES if data.startswith(magic)), None)


def _root() -> Path:
    return Path(current_app.config["INSTANCE_DIR"]) / "files"


def path_of(digest: str) -> Path:
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise Invalid("Bad file reference", details={"file": ["不是有效的文件编号"]})
    return _root() / digest[:2] / digest


def store(data: bytes, *, allowed: tuple[str, ...] = ("image/jpeg", "image/png")) -> dict:
    """Check and keep one file; returns {"sha256", "type", "size"}. Invalid (nothing written) when it is empty,
    over MAX_BYTES or not one of the allowed types."""
    if not data:
        raise Invalid("Empty file", details={"file": ["文件为空"]})
    if len(data) > MAX_BYTES:
        raise Invalid("File too large", details={"file": [f"文件不能超过 {MAX_BYTES // (1024 * 1024)} MB"]})
    kind = sniff(data)
    if kind not in allowed:
        raise Invalid("Unsupported file type", details={"file": ["仅支持 JPEG/PNG 图片" if "application/pdf" not in allowed
                                                                 else "仅支持 JPEG/PNG 图片或 PDF"]})
    digest = hashlib.sha256(data).hexdigest()
    target = path_of(digest)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent)  # write then rename: a reader never sees half a file
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
    return {"sha256": digest, "type": kind, "size": len(data)}


def read(digest: str) -> tuple[bytes, str]:
    target = path_of(digest)
    data = target.read_bytes()
    return data, sniff(data) or "application/octet-stream"
