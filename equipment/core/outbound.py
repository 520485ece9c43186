"""Where the platform may send requests that users chose (reminder webhooks): not into its own network.

An organisation's admin sets a webhook URL; without this check the jobs process would POST to any address
it can reach: the metadata service of a cloud host, a database's HTTP port, the broker's admin (SSRF).
Operators who really deliver to an internal receiver set EQUIPMENT_WEBHOOK_ALLOW_PRIVATE=1.
The check runs when the URL is saved and again before each delivery (DNS can change in between);
redirects are not followed, so a public URL cannot bounce the request inwards.
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from flask import current_app


class UnsafeDestination(ValueError):
    pass


def check_destination(url: str) -> None:
    """Raise UnsafeDestination unless `url` is http(s) to a host whose every address is public."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeDestination("must be an http(s) URL with a host")
    if current_app.config.get("WEBHOOK_ALLOW_PRIVATE"):
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, ValueError) as err:
        raise UnsafeDestination(f"host does not resolve ({err})") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global:
            raise UnsafeDestination(f"resolves to a non-public address ({address}); "
                                    "set EQUIPMENT_WEBHOOK_ALLOW_PRIVATE=1 to allow internal receivers")
