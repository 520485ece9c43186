from flask import request


def apply(resp):
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("X-Frame-Options", "DENY")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    if request.path.startswith("/api/") and request.method not in ("GET", "HEAD"):
        resp.headers.setdefault("Cache-Control", "no-store")  # tokens and MQTT passwords come back from writes
    if not request.path.startswith("/api/v1/docs"):
        resp.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self' 'unsafe-inline'; connect-src 'self'")
    return resp
