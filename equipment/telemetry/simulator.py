"""Terminal simulator speaking PROTOCOL.md: cars that move between floors, open and close doors, carry
passengers, and scripted faults (trapped, door fault, offline). One MQTT connection per terminal, all
driven from one thread (paho's non-blocking loop), so a few thousand terminals need no thread each.

`equipment simulate ...` on the command line; `run_simulator(...)` for `equipment demo` and tests.
"""
from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
import urllib.request
from dataclasses import dataclass, field

import click
import orjson
import paho.mqtt.client as mqtt
from equipment.core.logs import configure as configure_logs
from equipment.telemetry.mqtt.brokerctl import parse_url

log = logging.getLogger("equipment.telemetry.simulator")
SCENARIOS = ("normal", "trapped", "door-fault", "offline", "mixed")
FLOOR_S = 2.0  # travel time per floor
DOOR_S = 3.0  # doors stay open this long
HEARTBEAT_S = 60.0
RECONNECT_S = 1.0


@dataclass
class Car:
    terminal_id: str
    password: str
    floors: int
    rng: random.Random
    floor: int = 1
    target: int = 1
    moving: bool = False
    door_closed: bool = True
    occupied: bool = False
    seq: int = 0
    boot: int = 0
    next_at: float = 0.0
    last_sent: float = 0.0
    script: list = field(default_factory=list)  # [(at, action)] scripted faults, in time order
    stuck: bool = False
    client: mqtt.Client | None = None
    retry_at: float = 0.0  # when a lost or refused connection is tried again

    def state(self) -> dict:
        in_zone = not self.moving and not self.stuck
        return {"mode": "normal", "moving": self.moving, "direction": self._direction(), "floor": self.floor,
                "door_zone": in_zone, "door_closed": self.door_closed, "occupied": self.occupied,
                "speed": 1.5 if self.moving else 0, "mains_power": True}

    def _direction(self) -> str:
        if not self.moving:
            return "none"
        return "up" if self.target > self.floor else "down"

    def step(self, now: float) -> bool:
        """Advance the car's motion; True when its state changed."""
        if self.stuck or now < self.next_at:
            return False
        if self.moving:
            self.floor += 1 if self.target > self.floor else -1
            if self.floor == self.target:
                self.moving, self.door_closed = False, False
                self.occupied = self.rng.random() < 0.3  # some get off, some stay for the next trip
                self.next_at = now + DOOR_S
            else:
                self.next_at = now + FLOOR_S
            return True
        if not self.door_closed:
            self.door_closed = True
            self.next_at = now + self.rng.uniform(1, 20)
            return True
        self.target = self.rng.randint(1, self.floors)
        if self.target != self.floor:
            self.moving, self.occupied = True, self.rng.random() < 0.7
        self.next_at = now + FLOOR_S
        return self.target != self.floor


class Simulator:
    def __init__(self, *, broker_url: str, credentials: list[dict], rate: float = 1.0, scenario: str = "mixed",
                 seed: int = 1, time_scale: float = 1.0):
        self.conn = parse_url(broker_url)
        self.rng = random.Random(seed)
        self.rate = rate  # upper bound of messages per second per terminal (on-change states are capped by it)
        self.cars = [Car(c["terminal_id"], c["mqtt_password"], self.rng.randint(6, 33), random.Random(seed + i))
                     for i, c in enumerate(credentials)]
        self.sent = 0
        self.scenario, self.time_scale = scenario, time_scale
        _script(self.cars, scenario, self.rng, time_scale)

    def connect_all(self) -> None:
        for car in self.cars:
            self.connect(car)
        self._pump(1.0)

    def connect(self, car: Car) -> None:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=car.terminal_id, protocol=mqtt.MQTTv311)
        client.username_pw_set(car.terminal_id, car.password)
        client.will_set(f"equipment/{car.terminal_id}/online", b"0", qos=1, retain=True)
        client.max_queued_messages_set(1000)
        client.on_connect = self._on_connect(car)
        car.client = client
        car.retry_at = 0.0
        self._reconnect(car, first=True)

    def _on_connect(self, car: Car):
        def on_connect(_client, _userdata, _flags, reason_code, _props):
            if not reason_code.is_failure:  # (re)connected: say so, as the will will say otherwise
                self._publish(car, "online", b"1", retain=True)
        return on_connect

    def _reconnect(self, car: Car, first: bool = False) -> None:
        """As a terminal does: a broker that is away or refuses us (still starting) is tried every second."""
        now = time.monotonic()
        if now < car.retry_at:
            return
        car.retry_at = now + RECONNECT_S
        try:
            if first:
                car.client.connect(self.conn.host, self.conn.port, keepalive=30)
            else:
                car.client.reconnect()
        except OSError:
            pass

    def _pump(self, seconds: float = 0.0) -> None:
        deadline = time.monotonic() + seconds
        while True:
            for car in self.cars:
                if car.client is not None and car.client.loop(timeout=0.0) != mqtt.MQTT_ERR_SUCCESS:
                    self._reconnect(car)
            if time.monotonic() >= deadline:
                return
            time.sleep(0.01)

    def _publish(self, car: Car, kind: str, payload: bytes, retain: bool = False) -> None:
        car.client.publish(f"equipment/{car.terminal_id}/{kind}", payload, qos=1, retain=retain)
        self.sent += 1

    def _send(self, car: Car, kind: str, now: float, **extra) -> None:
        car.seq += 1
        body = {"seq": car.seq, "boot": car.boot, "ts": int(time.time() * 1000)}
        body.update(car.state() if kind == "state" else extra)
        self._publish(car, kind, orjson.dumps(body))
        car.last_sent = now

    def run(self, duration: float, stop: threading.Event | None = None) -> dict:
        self.connect_all()
        stop = stop or threading.Event()
        start = time.monotonic()
        min_gap = 1.0 / self.rate if self.rate > 0 else HEARTBEAT_S
        while not stop.is_set() and time.monotonic() - start < duration:
            now = time.monotonic() - start
            for car in self.cars:
                self._run_script(car, now)
                changed = car.client is not None and car.step(now)
                due = now - car.last_sent >= (min_gap if changed else min(HEARTBEAT_S, max(min_gap, 5.0)))
                if car.client is not None and due:
                    self._send(car, "state", now)
            self._pump(0.05)
        for car in self.cars:
            if car.client is not None:
                self._publish(car, "online", b"0", retain=True)  # a clean stop says so, like the will would
        self._pump(0.5)
        for car in self.cars:
            if car.client is not None:
                car.client.disconnect()
        return {"terminals": len(self.cars), "messages": self.sent, "seconds": round(time.monotonic() - start, 1)}

    def _run_script(self, car: Car, now: float) -> None:
        while car.script and car.script[0][0] <= now:
            _, action = car.script.pop(0)
            action(self, car, now)
        if not car.script and self.scenario == "mixed":
            # The demo city keeps living: each car plays another episode after a quiet spell.
            start = now + car.rng.expovariate(1 / EPISODE_GAP_S) * self.time_scale
            car.script = _episode(car.rng.choice(MIXED), start, car.rng, self.time_scale)


# --- scripted faults ----------------------------------------------------------------------------------

def _stick(sim: Simulator, car: Car, now: float) -> None:
    """Stopped between floors with passengers inside: the platform must derive 'trapped' by itself."""
    car.stuck, car.moving, car.door_closed, car.occupied = True, False, True, True
    sim._send(car, "state", now)


def _release(sim: Simulator, car: Car, now: float) -> None:
    car.stuck, car.door_closed, car.occupied = False, False, False
    sim._send(car, "state", now)


def _door_fault(sim: Simulator, car: Car, now: float) -> None:
    sim._send(car, "event", now, code="02", active=True, detail={"door": "front"})


def _door_ok(sim: Simulator, car: Car, now: float) -> None:
    sim._send(car, "event", now, code="02", active=False)


def _drop(sim: Simulator, car: Car, now: float) -> None:
    """Abrupt network loss: close the socket without DISCONNECT so the broker publishes the will."""
    sock = car.client.socket()
    if sock is not None:
        sock.close()
    car.client = None


def _rejoin(sim: Simulator, car: Car, now: float) -> None:
    """The network is back: connect again and say online."""
    sim.connect(car)


PLANS = {"trapped": [(_stick, 8), (_release, 120)], "door-fault": [(_door_fault, 5), (_door_ok, 60)],
         "offline": [(_drop, 10), (_rejoin, 200)], "normal": []}
MIXED = ("trapped", "door-fault", "offline", "normal", "normal", "normal", "normal")
EPISODE_GAP_S = 900.0  # mean quiet time per car between episodes of the endless mixed scenario


def _episode(kind: str, start: float, rng: random.Random, scale: float) -> list:
    return [(start + (at + rng.uniform(0, 5)) * scale, action) for action, at in PLANS[kind]]


def _script(cars: list[Car], scenario: str, rng: random.Random, scale: float = 1.0) -> None:
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {SCENARIOS}")
    for i, car in enumerate(cars):
        kind = scenario
        if scenario == "mixed":
            kind = MIXED[i % len(MIXED)]
        elif i % 5 and len(cars) > 1:
            kind = "normal"  # one car in five plays the scenario, the others run normally around it
        car.script = _episode(kind, 0.0, rng, scale)


# --- credentials ----------------------------------------------------------------------------------------

def read_credentials(path: str) -> list[dict]:
    with open(path) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def provision_via_api(api: str, token: str, count: int) -> list[dict]:
    """Provision `count` terminals for the first elevators the token can see."""
    def call(method, path, body=None):
        req = urllib.request.Request(api.rstrip("/") + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())
    units, page = [], 1
    while len(units) < count:
        got = call("GET", f"/api/v1/equipment?category=elevator&per_page=200&page={page}")
        units += [u["id"] for u in got["items"]]
        if page >= got.get("pages", 1):
            break
        page += 1
    return [call("POST", "/api/v1/terminals", {"equipment_id": uid}) for uid in units[:count]]


def run_simulator(*, credentials: list[dict], broker_url: str | None = None, rate: float = 1.0,
                  scenario: str = "mixed", duration: float = 60.0, stop: threading.Event | None = None,
                  seed: int = 1, time_scale: float = 1.0) -> dict:
    """Run until `duration` seconds pass or `stop` is set; returns counts. Used by `equipment demo`."""
    broker_url = broker_url or next((c["mqtt_url"] for c in credentials if c.get("mqtt_url")), None) \
        or os.environ.get("EQUIPMENT_MQTT_URL") or "mqtt://127.0.0.1:1883"
    sim = Simulator(broker_url=broker_url, credentials=credentials, rate=rate, scenario=scenario, seed=seed,
                    time_scale=time_scale)
    return sim.run(duration, stop)


@click.command("simulate")
@click.option("--elevators", "count", default=10, show_default=True, help="number of simulated terminals")
@click.option("--rate", default=1.0, show_default=True, help="max state messages per second per terminal")
@click.option("--scenario", type=click.Choice(SCENARIOS), default="mixed", show_default=True)
@click.option("--broker", default=None, help="mqtt://host:port (default: from the credentials)")
@click.option("--api", default=None, help="platform base URL to provision terminals through")
@click.option("--token", default=None, envvar="EQUIPMENT_TOKEN", help="bearer token for --api")
@click.option("--credentials", "cred_file", default=None, help="JSON lines of terminal credentials")
@click.option("--save-credentials", default=None, help="append provisioned credentials to this file")
@click.option("--duration", default=60.0, show_default=True, help="seconds")
def simulate_command(count, rate, scenario, broker, api, token, cred_file, save_credentials, duration):
    """Elevator terminal simulator (PROTOCOL.md) / 电梯监测终端模拟器."""
    configure_logs()
    if cred_file:
        creds = read_credentials(cred_file)[:count]
    elif api and token:
        creds = provision_via_api(api, token, count)
        if save_credentials:
            with open(save_credentials, "a") as fh:
                fh.writelines(json.dumps(c) + "\n" for c in creds)
    else:
        raise click.UsageError("give --credentials FILE, or --api URL with --token T")
    if not creds:
        raise click.ClickException("no terminals to simulate")
    stats = run_simulator(credentials=creds, broker_url=broker, rate=rate, scenario=scenario, duration=duration)
    click.echo(json.dumps(stats))
