"""Terminal-like QoS 1 publishers that keep what the broker acknowledged and retry everything else.

A real terminal keeps an unacknowledged message and sends it again (same payload, same seq) after it
reconnects. This one does that at the application level, with a fresh connection per attempt, so the
outcome does not depend on paho's own resend-on-reconnect: `accepted` holds exactly the (boot, seq) keys
the broker PUBACKed as taken, and a key is only ever re-sent while it is not in `accepted`.

PUBACK reason 0x10 "No matching subscribers" (MQTT v5) is a success code, but it tells the publisher the
broker dropped the message. `trust_no_subscribers=False` treats it as not delivered and retries (what a
careful terminal does); `True` counts it as accepted, like a terminal that only looks at the success bit.
"""
from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt

NO_MATCHING_SUBSCRIBERS = 0x10


class Terminal:
    def __init__(self, host: str, port: int, creds: dict, count: int, *, boot: int = 0, first_seq: int = 1,
                 trust_no_subscribers: bool = False):
        self.host, self.port = host, port
        self.tid, self.password = creds["terminal_id"], creds["mqtt_password"]
        self.topic = f"equipment/{self.tid}/state"
        self.boot, self.trust_no_subscribers = boot, trust_no_subscribers
        now_ms = int(time.time() * 1000)
        # payloads are fixed once: a resend is byte-for-byte the same message, as from a real terminal
        self.pending = {seq: (f'{{"seq":{seq},"boot":{boot},"ts":{now_ms + seq},"moving":true,'
                              f'"floor":{seq % 20},"occupied":true}}').encode()
                        for seq in range(first_seq, first_seq + count)}
        self.accepted: set[tuple[int, int]] = set()
        self.no_subscribers = 0  # PUBACKs with 0x10: the broker had nobody to deliver to
        self.refused: dict[int, int] = {}  # PUBACK failure reason code -> count
        self.attempts = 0  # connections made; > 1 means the publisher had to reconnect
        self._acks: dict[int, int] = {}

    @property
    def progress(self) -> int:
        """PUBACKs so far, including the current connection's (for timing a fault mid-burst)."""
        return len(self.accepted) + len(self._acks)

    def run(self, deadline: float) -> None:
        while self.pending and time.monotonic() < deadline:
            self.attempts += 1
            if not self._attempt(deadline):
                time.sleep(0.2)  # broker away (restarting) or nobody subscribed: try again shortly

    def _attempt(self, deadline: float) -> bool:
        connected, lost, answered = threading.Event(), threading.Event(), threading.Event()
        acks: dict[int, int] = {}  # mid -> reason code value; written by paho's thread
        self._acks = acks
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.tid, protocol=mqtt.MQTTv5)
        client.username_pw_set(self.tid, self.password)
        client.max_inflight_messages_set(100)
        client.max_queued_messages_set(0)
        client.on_connect = lambda c, u, f, rc, p: (lost if rc.is_failure else connected).set() or answered.set()
        client.on_disconnect = lambda *a: lost.set()
        client.on_publish = lambda c, u, mid, rc, p: acks.__setitem__(mid, rc.value)
        try:
            client.connect(self.host, self.port, keepalive=10)
        except OSError:
            return False
        client.loop_start()
        try:
            answered.wait(5)  # CONNACK either way (a refusal must not cost the whole wait)
            if not connected.is_set() or lost.is_set():
                return False
            mids = {client.publish(self.topic, payload, qos=1).mid: seq for seq, payload in self.pending.items()}
            while len(acks) < len(mids) and not lost.is_set() and time.monotonic() < deadline:
                time.sleep(0.01)
            return self._settle(mids, acks)
        finally:
            self._acks = {}
            client.disconnect()
            client.loop_stop()

    def _settle(self, mids: dict[int, int], acks: dict[int, int]) -> bool:
        """Move acknowledged keys out of `pending`; False when some must be sent again."""
        for mid, code in list(acks.items()):
            seq = mids.get(mid)
            if seq is None:
                continue
            if code == NO_MATCHING_SUBSCRIBERS:
                self.no_subscribers += 1
                if not self.trust_no_subscribers:
                    continue
            elif code >= 0x80:
                self.refused[code] = self.refused.get(code, 0) + 1
                continue
            self.accepted.add((self.boot, seq))
            self.pending.pop(seq, None)
        return not self.pending


def run_all(terminals: list[Terminal], timeout: float) -> list[threading.Thread]:
    deadline = time.monotonic() + timeout
    threads = [threading.Thread(target=t.run, args=(deadline,), daemon=True) for t in terminals]
    for thread in threads:
        thread.start()
    return threads
