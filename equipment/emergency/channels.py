"""Pluggable notification channels. Each sends one message or raises; none touches the database.

Add one with `register(name, channel)`; the order tried is EQUIPMENT_NOTIFY_CHANNELS (default
webhook,sms,email). A channel that is not configured for a message (no URL, no phone) is skipped.
"""
from __future__ import annotations

import json
import logging
import smtplib
import urllib.request
from email.message import EmailMessage

from equipment.emergency import config

log = logging.getLogger("equipment.emergency.notify")


class Skip(Exception):
    """This channel cannot carry this message (not configured, no address): try the next one."""


def _post_json(url: str, body: dict, timeout: float, headers: dict | None = None) -> int:
    data = json.dumps(body, ensure_ascii=False).encode()
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # non-2xx raises HTTPError
        resp.read(65536)
        return resp.status


class Webhook:
    def send(self, *, recipient: dict, payload: dict, timeout: float) -> str:
        url = recipient.get("webhook") or config.env("WEBHOOK_URL")
        if not url:
            raise Skip("no webhook URL")
        status = _post_json(url, {**payload, "recipient": recipient}, timeout)
        return f"HTTP {status}"


class SmsGateway:
    """A generic HTTP SMS gateway: POST {"to", "text"} with an optional bearer token."""

    def send(self, *, recipient: dict, payload: dict, timeout: float) -> str:
        url, phone = config.env("SMS_URL"), recipient.get("phone")
        if not url or not phone:
            raise Skip("no SMS gateway" if not url else "no phone number")
        token = config.env("SMS_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        status = _post_json(url, {"to": phone, "text": payload["text"],
                                  "incident_id": payload["incident"]["incident_id"]}, timeout, headers)
        return f"HTTP {status}"


def _smtp_server() -> tuple[str | None, int, str | None, str | None]:
    """EQUIPMENT_SMTP_HOST/PORT/USER/PASSWORD, or the same EQUIPMENT_SMTP_URL the reminders use."""
    if config.env("SMTP_HOST"):
        return (config.env("SMTP_HOST"), int(config.env("SMTP_PORT", "25")), config.env("SMTP_USER"),
                config.env("SMTP_PASSWORD"))
    url = config.env("SMTP_URL")
    if not url:
        return None, 25, None, None
    from urllib.parse import unquote, urlsplit
    parts = urlsplit(url)
    return (parts.hostname, parts.port or 25, unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password else None)


class Email:
    def send(self, *, recipient: dict, payload: dict, timeout: float) -> str:
        host, port, user, password = _smtp_server()
        to = recipient.get("email") or config.env("SMTP_TO")
        if not host or not to:
            raise Skip("no SMTP host" if not host else "no email address")
        msg = EmailMessage()
        msg["From"] = config.env("SMTP_FROM", "96333@localhost")
        msg["To"] = to
        msg["Subject"] = payload["text"][:60]
        msg.set_content(payload["text"] + "\n\n" + json.dumps(payload["incident"], ensure_ascii=False, indent=1))
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            if config.env("SMTP_STARTTLS") == "1":
                smtp.starttls()
            if user:
                smtp.login(user, password or "")
            smtp.send_message(msg)
        return f"mailed {to}"


class LogOnly:
    """Used only when no channel is configured at all (a dev install): the console is the alert."""

    def send(self, *, recipient: dict, payload: dict, timeout: float) -> str:
        log.warning("notification (no channel configured): %s", payload["text"])
        return "logged"


CHANNELS: dict[str, object] = {"webhook": Webhook(), "sms": SmsGateway(), "email": Email()}


def register(name: str, channel) -> None:
    CHANNELS[name] = channel


def configured_order() -> list[str]:
    return [name for name in config.channel_order() if name in CHANNELS]


def any_configured() -> bool:
    return bool(config.env("WEBHOOK_URL") or config.env("SMS_URL") or config.env("SMTP_HOST")
                or config.env("FIRE_WEBHOOK_URL")) or any(n not in ("webhook", "sms", "email")
                                                           for n in configured_order())
