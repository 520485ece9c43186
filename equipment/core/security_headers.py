from flask import current_app, request

# Nothing inline: JS lives in static files (page data in data-* attributes or JSON data blocks) and styles in
# stylesheets, so an injected <script>, on* handler, <style> or style="" does nothing. Scripts may still set
# element.style (CSSOM), which style-src does not govern: the console map places its markers that way.
STYLE_SRC = "style-src 'self'"
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
