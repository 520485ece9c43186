from flask import current_app, request

# No inline script anywhere (JS lives in static files, page data in data-* attributes or JSON data blocks),
# so an injected <script> or on* handler does not run. Styles: see STYLE_SRC.
# Styles keep 'unsafe-inline' only while one template still carries a style="" attribute (crew page, converted
# late with the other helpers' pages): inline styles cannot run code; the browser test lists what is left.
STYLE_SRC = "style-src 'self' 'unsafe-inline'"
CSP = ("default-src 'self'; img-src 'self' data: https:; " + STYLE_SRC + "; "
       "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")
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
    wanted.append(("Content-Security-Policy", CSP))  # the API docs page too (templates/swagger_ui.html)
    for key, value in wanted:
        if key.lower() not in present:
            headers.add(key, value)
    return resp
