"""The MQTT side of ingestion: paho-mqtt 2 (MQTT v5), shared subscription, manual acks after commit.

paho's network thread validates each message and appends it to a deque (mqttclient.IngestClient trims
paho's own per-message work; validating there overlaps with the batch thread's database waits); the
consumer thread takes what has arrived (up to `batch_size`, lingering at most
`batch_ms` while more keeps coming), runs ingest.Ingestor.process in one transaction, commits, and only then
PUBACKs the batch in one write. A crash before the commit leaves them unacked in the broker's persistent
session, which redelivers them; the dedupe key makes the redelivery harmless. Acks are tied to the
connection that delivered the message: after a reconnect the broker resends whatever was unacked, so old
packet ids are never acked on a new link. The client asks for a Receive Maximum of several batches, so
the broker keeps sending while a batch is being committed (with the broker default of 1000 in flight and
1000-message batches, reading and writing took turns instead of overlapping).
"""
from __future__ import annotations

import collections
import logging
import socket
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes
from prometheus_client import Counter, Gauge, Histogram, start_http_server

from equipment.core.actor import SYSTEM, acting_as
from equipment.core.db import transaction
from equipment.core.process import freeze_startup_heap
from equipment.extensions import db
from equipment.telemetry import budget, ingest, jobs
from equipment.telemetry.mqtt import mqttclient
from equipment.telemetry.mqtt.brokerctl import SHARE_PREFIX, Connection
from equipment.web.metrics import REGISTRY

log = logging.getLogger("equipment.telemetry.mqtt.consumer")
SHARED_TOPIC = SHARE_PREFIX + "equipment/+/+"
INGESTED = Counter("equipment_telemetry_messages_ingested", "Telemetry messages accepted and committed",
                   registry=REGISTRY)
REJECTED = Counter("equipment_telemetry_rejects", "Telemetry messages rejected, by reason", ["reason"],
                   registry=REGISTRY)
BATCH_SECONDS = Histogram("equipment_telemetry_batch_seconds", "Consumer batch latency (process + commit)",
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5), registry=REGISTRY)
# Consumer lag: how long the oldest message of each batch waited here before its commit (a consumer that
# falls behind shows it here first), and what is waiting right now.
LAG = Histogram("equipment_telemetry_consumer_lag_seconds",
                "From a message's arrival at the consumer to its commit (oldest message of each batch)",
                buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60), registry=REGISTRY)
INBOX = Gauge("equipment_telemetry_inbox_messages", "Messages received by the consumer, not yet committed",
              registry=REGISTRY)
# A message the validator passed but the store cannot take (a platform bug, or a value beyond a column):
# PROTOCOL.md's closest reason, with the error in the reject's detail and the log.
POISON_REASON = "bad_value"
LINGER_IDLE_S = 0.005  # stop lingering for a fuller batch once nothing new arrived for this long


def default_client_id() -> str:
    return f"equipment-ingest-{socket.gethostname()}"[:64]


class Consumer:
    def __init__(self, app, *, conn: Connection, client_id: str | None = None, batch_size: int = 1000,
                 batch_ms: int = 50, session_expiry_s: int = 7 * 24 * 3600, tick_s: float = 1.0,
                 offline_check_s: float = 10.0):
        self.app, self.conn = app, conn
        self.client_id = client_id or default_client_id()
        self.batch_size, self.batch_s = batch_size, batch_ms / 1000
        self.session_expiry_s = session_expiry_s
        self.tick_s, self.offline_check_s = tick_s, offline_check_s
        # paho's thread appends, the consumer thread pops; `_arrived` is set only on empty -> non-empty
        self.inbox: collections.deque = collections.deque()
        INBOX.set_function(lambda: len(self.inbox))
        self._arrived = threading.Event()
        self.generation = 0  # bumped on every (re)connect
        self.connected = threading.Event()
        self.ingestor = ingest.Ingestor(cfg=ingest.rule_config(app.config), budgets=budget.from_config(app.config))
        # Unacked messages the broker may have out to us: several batches, so it keeps sending while one
        # batch commits (Mosquitto's max_inflight_messages applies only to clients that do not say).
        self.receive_maximum = min(65535, 4 * batch_size)
        self.high_water = 8 * batch_size  # stop reading from the broker while this many wait here
        self.client = self._make_client()
        self.batches = 0

    # -- MQTT ----------------------------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        client = mqttclient.make_client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                                        protocol=mqtt.MQTTv5, manual_ack=True)
        if self.conn.username:
            client.username_pw_set(self.conn.username, self.conn.password)
        if self.conn.tls:
            client.tls_set()
        client.reconnect_delay_set(min_delay=1, max_delay=30)  # exponential backoff between attempts
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        if isinstance(client, mqttclient.IngestClient):
            client.hold = lambda: len(self.inbox) >= self.high_water
        return client

    def _on_connect(self, client, _userdata, _flags, reason_code, _props):
        if reason_code.is_failure:
            log.warning("broker refused connection: %s", reason_code)
            return
        self.generation += 1
        client.subscribe(SHARED_TOPIC, qos=1)
        self.connected.set()
        log.info("connected to %s:%s as %s", self.conn.host, self.conn.port, self.client_id)

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _props):
        self.connected.clear()
        self.generation += 1  # anything received before is redelivered by the broker: do not ack it
        log.warning("disconnected (%s); paho reconnects with backoff", reason_code)

    def _on_message(self, _client, _userdata, msg):
        # Runs on paho's thread for every message: validation, one tuple, one append.
        try:
            topic = msg.topic
        except UnicodeDecodeError:  # brokers refuse such topics; if one came, it is rejected as topic_mismatch
            topic = repr(msg._topic)
        payload, received = msg.payload, time.time()
        try:  # validated here: this thread has time to spare while the batch thread waits on the database
            parsed = ingest.parse(topic, payload, received)
        except Exception:  # noqa: BLE001  never kill paho's thread: the batch thread validates again
            parsed = None
        inbox = self.inbox
        inbox.append((ingest.Incoming(topic, payload, received, parsed), msg.mid, msg.qos, self.generation))
        if len(inbox) == 1:
            self._arrived.set()

    def connect(self) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.session_expiry_s
        props.ReceiveMaximum = self.receive_maximum
        self.client.connect_async(self.conn.host, self.conn.port, keepalive=30, clean_start=False,
                                  properties=props)
        self.client.loop_start()

    # -- main loop -----------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        self._warm_up()
        self.connect()
        last_tick = last_offline = time.monotonic()
        with self.app.app_context(), acting_as(SYSTEM):
            try:
                while not stop.is_set():
                    batch = self._collect(stop)
                    if batch:
                        self._handle(batch, stop)
                    now = time.monotonic()
                    if now - last_tick >= self.tick_s:
                        last_tick = now
                        self._periodic("telemetry.tick", "tick_rules")
                    if now - last_offline >= self.offline_check_s:
                        last_offline = now
                        self._periodic("telemetry.offline", "mark_offline")
                self._drain()
            finally:
                self.client.disconnect()
                self.client.loop_stop()
                db.session.remove()
        log.info("consumer stopped after %d batches", self.batches)

    def _warm_up(self) -> None:
        """One-time costs before subscribing, not inside the first batch: SQLAlchemy's mapper configuration
        (about a second on first ORM use, measured in the bench) and the database connection."""
        from sqlalchemy.orm import configure_mappers
        configure_mappers()
        freeze_startup_heap()  # a full collection mid-batch would hold up a trapped passenger's incident
        with self.app.app_context():
            try:
                db.session.execute(db.text("SELECT 1"))
            except Exception:  # the batch loop retries with backoff; nothing to do here
                log.warning("database not reachable at start; batches will retry", exc_info=True)
            finally:
                db.session.rollback()
                db.session.remove()

    def _collect(self, stop: threading.Event | None = None) -> list:
        """What has arrived, up to batch_size; lingers up to batch_ms for a fuller batch while messages
        keep coming (under load), but not once the stream pauses (a lone trapped event goes at once)."""
        inbox = self.inbox
        if not inbox:
            self._arrived.clear()
            if not inbox and not self._arrived.wait(0.2):
                return []
        deadline = time.monotonic() + self.batch_s
        seen, idle_since = len(inbox), time.monotonic()
        while seen < self.batch_size:
            time.sleep(0.001)
            now, n = time.monotonic(), len(inbox)
            if n > seen:
                seen, idle_since = n, now
            if now >= deadline or now - idle_since >= LINGER_IDLE_S:
                break
        return self._take(self.batch_size)

    def _take(self, limit: int) -> list:
        inbox, batch = self.inbox, []
        pop = inbox.popleft
        for _ in range(min(limit, len(inbox))):
            batch.append(pop())
        return batch

    def _drain(self) -> None:
        """On SIGTERM: finish what was already received (one batch), ack it, then disconnect."""
        batch = self._take(self.batch_size)
        if batch:
            self._handle(batch, threading.Event())

    def _handle(self, batch: list, stop: threading.Event) -> None:
        started = time.perf_counter()
        items = [entry[0] for entry in batch]
        result = self._commit_with_retry(items, stop)
        if result is None:
            return  # stopping with the database unavailable: unacked, the broker redelivers
        BATCH_SECONDS.observe(time.perf_counter() - started)
        LAG.observe(max(0.0, time.time() - items[0].received))
        INGESTED.inc(result.stored)
        for reason, n in result.rejects.items():
            REJECTED.labels(reason=reason).inc(n)
        self._ack(batch)
        self.batches += 1

    def _ack(self, batch) -> None:
        gen = self.generation
        mids = [mid for _item, mid, qos, msg_gen in batch if qos == 1 and msg_gen == gen]
        mqttclient.ack_all(self.client, mids)

    # -- failure handling ----------------------------------------------------------------------------
    def _commit_with_retry(self, items, stop) -> ingest.BatchResult | None:
        delay, isolate = 0.2, False
        for attempt in range(1, 1_000_000):
            try:
                return self._isolate(items) if isolate else self._commit(items)
            except ingest.HandOffError:
                log.exception("incident hand-off failed; batch stays unacked and is retried")
            except Exception:
                log.exception("batch of %d failed (attempt %d)", len(items), attempt)
                if attempt >= 3 and not isolate and self._database_ok():
                    isolate = True  # the database works: some message in here is the problem
                    continue
            if stop.is_set() and attempt >= 3:
                return None
            time.sleep(delay)
            delay = min(delay * 2, 10.0)
        return None

    def _commit(self, items) -> ingest.BatchResult:
        # One batch, one transaction: the services the effects call (alarms, incidents) join this scope
        # instead of committing part of the batch, so a failure or a crash before this commit leaves
        # nothing behind and the broker's redelivery replays the whole batch.
        with transaction():
            return self.ingestor.process(items)

    def _isolate(self, items) -> ingest.BatchResult:
        """One message per transaction; a message that fails alone is poison: counted and dropped."""
        total = ingest.BatchResult()
        for item in items:
            try:
                result = self._commit([item])
            except ingest.HandOffError:
                raise
            except Exception as err:
                log.error("poison message on %s rejected: %r", item.topic[:80], err)
                with transaction():
                    ingest.count_rejects({POISON_REASON: (1, repr(err)[:200])})
                result = ingest.BatchResult(rejects={POISON_REASON: 1})
            total.stored += result.stored
            total.incidents.extend(result.incidents)
            for reason, n in result.rejects.items():
                total.rejects[reason] = total.rejects.get(reason, 0) + n
        return total

    def _database_ok(self) -> bool:
        try:
            db.session.rollback()
            db.session.execute(db.text("SELECT 1"))
            db.session.rollback()
            return True
        except Exception:
            return False

    def _periodic(self, name: str, func: str) -> None:
        try:
            getattr(jobs, func)()
        except Exception:
            db.session.rollback()
            log.exception("%s failed inside the consumer", name)


def serve_metrics(listen: str):
    """This process's figures on http://<listen>/metrics for Prometheus (`consume --metrics-listen`):
    a standalone consumer has no web server of its own. Returns the server (tests shut it down)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"--metrics-listen wants host:port, not {listen!r}")
    server, _thread = start_http_server(int(port), addr=host or "127.0.0.1", registry=REGISTRY)
    log.info("consumer metrics on http://%s:%s/metrics", host or "127.0.0.1", server.server_port)
    return server
