"""paho-mqtt's Client, trimmed for one high-rate QoS 1 subscriber with manual acks (the ingest consumer).

Profiled under a 100k-message burst (bench/bench_ingest.py), stock paho 2.x spends most of the consumer's
CPU in its network thread, per message: a select() and three recv() syscalls (command byte, length byte,
body), the topic-filter matcher (even with no filtered callbacks), and, for manual acks, one queued
packet + one wake-up byte + one send() syscall per PUBACK. These overrides remove that per-message
overhead without changing the protocol:

* reads go through a 64 KiB buffer and `loop_read` drains up to DRAIN_MAX packets per select() (it
  returns only with the buffer empty, so nothing can sit in it unseen by select);
* `on_message` is called directly (this client registers no `message_callback_add` filters);
* `ack_many` queues a whole batch of PUBACKs as one write;
* `hold` (optional callable): while it returns True nothing is read, so the rest stays queued (and
  persisted) at the broker. Needed because Mosquitto 2.0.11 (Debian 12) keeps the client's Receive
  Maximum only until the first PUBACK: after that it pushes its whole queue, so a consumer catching up on
  a backlog would otherwise take all of it into memory.

These touch private paho members, so `make_client()` checks they exist (paho 2.0-2.2 have them) and
falls back to the stock Client otherwise. TCP only (the websocket transport wraps the socket).
"""
from __future__ import annotations

import struct
import time
from typing import Callable

import paho.mqtt.client as mqtt

_PUBACK = struct.Struct("!BBH")
_PUBACK_CMD = 0x40  # MQTT control packet type 4 << 4
_READ_CHUNK = 65536
DRAIN_MAX = 1000  # packets per loop_read before paho gets to write (acks) again
_HOOKS = ("_sock_recv", "_sock_close", "_packet_read", "_loop_rc_handle", "_packet_queue", "_in_callback_mutex",
          "_handle_on_message", "_userdata", "_sock")


def make_client(*args, **kwargs) -> mqtt.Client:
    """An IngestClient when this paho has the members it overrides, else a stock paho Client."""
    client = IngestClient(*args, **kwargs)
    if all(hasattr(client, name) for name in _HOOKS):
        return client
    return mqtt.Client(*args, **kwargs)


def ack_all(client: mqtt.Client, mids: list[int]) -> None:
    """PUBACK (QoS 1) every mid: one write with an IngestClient, one ack() each otherwise."""
    if isinstance(client, IngestClient):
        client.ack_many(mids)
    else:
        for mid in mids:
            client.ack(mid, 1)


class IngestClient(mqtt.Client):
    _rbuf = b""
    _rpos = 0
    hold: Callable[[], bool] | None = None

    # -- reading -----------------------------------------------------------------------------------
    def _sock_recv(self, bufsize: int) -> bytes:
        buf, pos = self._rbuf, self._rpos
        if pos >= len(buf):
            buf = super()._sock_recv(_READ_CHUNK)  # BlockingIOError when nothing is there: paho's "again"
            if not buf:
                return buf  # EOF: paho treats an empty read as a lost connection
            pos = 0
        chunk = buf[pos:pos + bufsize]
        self._rbuf, self._rpos = buf, pos + len(chunk)
        return chunk

    def _buffered(self) -> bool:
        return self._rpos < len(self._rbuf)

    def _sock_close(self) -> None:
        self._rbuf, self._rpos = b"", 0  # bytes of a dead connection never reach the next one
        super()._sock_close()

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        # Stock paho reads one packet per select() for a subscriber; this drains what has arrived, but
        # returns after DRAIN_MAX packets (or when `hold` says so) once the buffer is empty, so paho's
        # writes (acks) and pings keep going. Returning with bytes left in the buffer would strand them:
        # select() only sees the socket.
        if self.hold is not None and self.hold():
            time.sleep(0.005)  # leave the socket unread without spinning on select()
            return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
        count = 0
        while True:
            if self._sock is None:
                return mqtt.MQTTErrorCode.MQTT_ERR_NO_CONN
            rc = self._packet_read()
            if rc > 0:
                return self._loop_rc_handle(rc)
            buffered = self._buffered()
            if rc == mqtt.MQTTErrorCode.MQTT_ERR_AGAIN and not buffered:
                return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
            count += 1
            if not buffered and (count >= DRAIN_MAX or (self.hold is not None and self.hold())):
                return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS

    def _handle_on_message(self, message: mqtt.MQTTMessage) -> None:
        on_message = self.on_message
        if on_message is not None:
            with self._in_callback_mutex:
                on_message(self, self._userdata, message)

    # -- acknowledging -----------------------------------------------------------------------------
    def ack_many(self, mids: list[int]) -> None:
        """PUBACK every mid (QoS 1, manual ack mode) in one queued write; thread-safe like publish()."""
        if mids:
            pack = _PUBACK.pack
            self._packet_queue(_PUBACK_CMD, b"".join([pack(_PUBACK_CMD, 2, mid) for mid in mids]), 0, 0)
