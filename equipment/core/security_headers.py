from flask import current_app, request

CSP = ("default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self' 'unsafe-inline'; connect-src 'self'")
ALWAYS = (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"), ("Referrer-Policy", "same-origin"))
HSTS = ("Strict-Transport-Security", "max-age=31536000")


def transport(config) -> list[tuple[str, str]]:
    """HSTS when the platform is served over https (the same setting that makes cookies Secure)."""
    return [HSTS] if config.get("SESSION_COOKIE_SECURE") else []


def apply(resp):
    """Defaults a view may override (a view that set its own keeps it)."""
    headers = resp.headers
    present = {key.lower() for key in headers.keys()}
    wanted = [*ALWAYS, *transport(current_app.config)]
    path = request.path
    if path.startswith("/api/") and request.method not in ("GET", "HEAD"):
        wanted.append(("Cache-Control", "no-store"))  # tokens and MQTT passwords come back from writes
    if not path.startswith("/api/v1/docs"):
        wanted.append(("Content-Security-Policy", CSP))
    for key, value in wanted:
        if key.lower() not in present:
            headers.add(key, value)
    return resp
