"""Real local stand-ins for what lies outside the platform: an HTTP endpoint (webhook / SMS gateway)
that records, fails with 500 or hangs, and an SMTP server (aiosmtpd) that records what arrives."""
from __future__ import annotations

import json
import sys
import threading
import time
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.live import ServerThread


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that gave up (the platform's delivery timeout against the "hang" mode) is what that mode is
        # for. socketserver would print its traceback from this thread, seconds later, often during the next
        # test. CPython 3.11 formats a traceback with ast.parse and keeps the AST converter's depth counter per
        # interpreter, not per thread: that parse raced werkzeug compiling the next test's app routes in the
        # main thread ("SystemError: AST constructor recursion depth mismatch (before=183, after=32)").
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class HttpSink(ServerThread):
    """mode: "ok" records and answers 200; "500" answers 500; "hang" sleeps `hang_s` before answering."""

    def __init__(self, mode: str = "ok", hang_s: float = 5.0):
        self.mode, self.hang_s, self.requests = mode, hang_s, []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                sink.requests.append({"path": self.path, "json": json.loads(body or b"{}"),
                                      "headers": dict(self.headers)})
                if sink.mode == "hang":
                    time.sleep(sink.hang_s)
                code = 500 if sink.mode == "500" else 200
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}' if code == 200 else b'{"error": "down"}')

            def log_message(self, *args):
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"


class SmtpSink:
    def __init__(self):
        from aiosmtpd.controller import Controller
        from tests.support.ports import free_port
        self.messages, self._lock = [], threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                msg = message_from_bytes(envelope.content)
                with sink._lock:
                    sink.messages.append({"to": envelope.rcpt_tos, "id": msg["X-Reminder-Id"],
                                          "subject": str(msg["Subject"]),
                                          "data": envelope.content.decode("utf8", "replace")})
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.url = f"smtp://127.0.0.1:{self.port}"

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()
