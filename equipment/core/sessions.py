"""The signed-cookie session, opened lazily.

Flask opens the session on every request; the stock interface builds its signing serializer first,
even when the request carries no session cookie (every public QR scan, every API call with a token).
"""
from __future__ import annotations

from flask.sessions import SecureCookieSessionInterface


class LazyCookieSessionInterface(SecureCookieSessionInterface):
    def open_session(self, app, request):
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        if not session and not session.modified:  # nothing to set or delete: skip the cookie settings
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)
