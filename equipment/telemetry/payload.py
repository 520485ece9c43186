"""Validation of terminal MQTT messages (PROTOCOL.md, terminal protocol v1).

Pure and hot-path: the consumer calls parse_message for every message (target ~8,000 msgs/s for the
whole consumer on 2 cores), so checks are hand-written on the orjson-parsed dict instead of a schema
library. Every failure is a Reject with a counted reason; nothing else may escape.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import orjson

from equipment.telemetry.codes import CODES

MAX_PAYLOAD_BYTES = 4096
MAX_FUTURE_MS = 24 * 3600 * 1000
MAX_PAST_MS = 30 * 24 * 3600 * 1000
# JSON integers go up to 2**64-1 in orjson; cap at BIGINT so the consumer can always store them.
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

REASONS = ("bad_json", "too_large", "not_object", "missing_field", "bad_type", "bad_value",
           "bad_timestamp", "topic_mismatch")
KINDS = ("state", "event", "online")
MODES = frozenset({"normal", "inspection", "fire_return", "firefighter", "emergency_power",
                   "earthquake", "stopped", "unknown"})
DIRECTIONS = frozenset({"up", "down", "none"})

TOPIC_RE = re.compile(r"equipment/([A-Za-z0-9_-]{1,64})/(state|event|online)", re.ASCII)
# RFC 3339 date-time (space separator allowed per its §5.6 note); fromisoformat alone is more lenient.
_RFC3339_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})", re.ASCII)
# Memo of valid topics: a terminal reuses the same 3 topics, and the regex costs ~3x a dict hit
# (measured ~0.7 us vs ~0.2 us per call on the dev box). Only matches are stored and the memo is
# emptied when full, so it stays bounded.
_TOPIC_MEMO: dict[str, tuple[str, str]] = {}
_TOPIC_MEMO_MAX = 300_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_MS = timedelta(milliseconds=1)
_MISSING = object()


class Reject(Exception):
    """A message the platform refuses; `reason` is one of REASONS and is what gets counted."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class Message:
    terminal_id: str
    kind: str                 # 'state' | 'event' | 'online'
    seq: int | None           # None for online
    boot: int
    ts_ms: int | None         # terminal clock, ms since epoch; None for online
    body: dict                # the whole validated object; {"online": bool} for online
    code: str | None = None   # event only
    active: bool | None = None  # event only
    unknown_code: bool = False


def parse_topic(topic: str) -> tuple[str, str] | None:
    """`equipment/{terminal_id}/{state|event|online}` -> (terminal_id, kind), else None."""
    if type(topic) is not str:
        return None
    hit = _TOPIC_MEMO.get(topic)
    if hit is not None:
        return hit
    m = TOPIC_RE.fullmatch(topic)
    if m is None:
        return None
    if len(_TOPIC_MEMO) >= _TOPIC_MEMO_MAX:
        _TOPIC_MEMO.clear()
    parsed = _TOPIC_MEMO[topic] = (m[1], m[2])
    return parsed


def parse_message(topic: str, payload: bytes, *, now_ms: int) -> Message:
    # Size first: never spend parse time on oversized input.
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise Reject("too_large", f"{len(payload)} bytes")
    parsed = parse_topic(topic)
    if parsed is None:
        raise Reject("topic_mismatch", str(topic)[:80])
    terminal_id, kind = parsed
    if kind == "online":
        return _parse_online(terminal_id, payload)
    body = _load_object(payload)
    seq, boot, ts_ms = _common_fields(body, now_ms)
    if kind == "state":
        _check_state_fields(body)
        return Message(terminal_id, kind, seq, boot, ts_ms, body)
    code, active = _event_fields(body)
    return Message(terminal_id, kind, seq, boot, ts_ms, body, code, active, code not in CODES)


def _parse_online(terminal_id: str, payload: bytes) -> Message:
    value = bytes(payload).strip()
    if value == b"1":
        online = True
    elif value == b"0":
        online = False
    else:
        raise Reject("bad_value", "online must be 1 or 0")
    return Message(terminal_id, "online", None, 0, None, {"online": online})


MAX_DEPTH = 32  # levels of nesting in a payload; real terminals send one or two


def _load_object(payload: bytes) -> dict:
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:  # also covers invalid UTF-8
        raise Reject("bad_json", "not valid UTF-8 JSON") from None
    if type(body) is not dict:
        raise Reject("not_object", type(body).__name__)
    for value in body.values():
        if type(value) in (dict, list) and _too_deep(value, MAX_DEPTH - 1):
            raise Reject("bad_value", f"nested deeper than {MAX_DEPTH} levels")
    return body


def _too_deep(value, budget: int) -> bool:
    """orjson can read deeper JSON than it will write (254 levels): what we accept must be storable."""
    if budget <= 0:
        return True
    children = value.values() if type(value) is dict else value
    return any(type(c) in (dict, list) and _too_deep(c, budget - 1) for c in children)


def _common_fields(body: dict, now_ms: int) -> tuple[int, int, int]:
    seq = body.get("seq", _MISSING)
    if seq is _MISSING:
        raise Reject("missing_field", "seq")
    _check_int("seq", seq, 0, INT64_MAX)
    boot = body.get("boot", 0)
    _check_int("boot", boot, 0, INT64_MAX)
    ts = body.get("ts", _MISSING)
    if ts is _MISSING:
        raise Reject("missing_field", "ts")
    return seq, boot, _ts_ms(ts, now_ms)


def _ts_ms(ts, now_ms: int) -> int:
    if type(ts) is int:
        ts_ms = ts
    elif type(ts) is str:
        ts_ms = _rfc3339_ms(ts)
    else:  # bool, float, null, ...: the protocol says integer ms or a string
        raise Reject("bad_type", "ts")
    if ts_ms > now_ms + MAX_FUTURE_MS or ts_ms < now_ms - MAX_PAST_MS:
        raise Reject("bad_timestamp", "ts out of window")
    return ts_ms


def _rfc3339_ms(text: str) -> int:
    if _RFC3339_RE.fullmatch(text) is None:
        raise Reject("bad_timestamp", "ts not RFC 3339 with offset")
    normalised = text.replace("t", "T").replace("z", "+00:00").replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(normalised)
    except ValueError:  # e.g. month 13, second 60, offset +24:00
        raise Reject("bad_timestamp", "ts not a valid date-time") from None
    return (moment - _EPOCH) // _ONE_MS


def _check_int(name: str, value, lo: int, hi: int) -> None:
    if type(value) is not int:  # excludes bool on purpose
        raise Reject("bad_type", name)
    if value < lo or value > hi:
        raise Reject("bad_value", name)


def _in_int64(value: int) -> bool:
    return INT64_MIN <= value <= INT64_MAX


def _non_negative_int(value: int) -> bool:
    return 0 <= value <= INT64_MAX


def _non_negative_finite(value: int | float) -> bool:
    # NaN fails the comparison; inf is excluded explicitly (orjson rejects both, callers may not).
    return 0 <= value <= INT64_MAX if type(value) is int else 0 <= value < math.inf


_BOOL = frozenset({bool})
_STR = frozenset({str})
_INT = frozenset({int})      # type() is exact, so bool is not an int here
_NUMBER = frozenset({int, float})

# Known state field -> (accepted JSON types, value check or None). Table-driven rather than one
# function per field: one dict lookup and one set membership per field, no extra Python calls
# for the bools that make up most of a state.
_STATE_FIELDS = {
    "mode": (_STR, MODES.__contains__),
    "direction": (_STR, DIRECTIONS.__contains__),
    "moving": (_BOOL, None),
    "door_zone": (_BOOL, None),
    "door_closed": (_BOOL, None),
    "occupied": (_BOOL, None),
    "mains_power": (_BOOL, None),
    "floor": (_INT, _in_int64),
    "speed": (_NUMBER, _non_negative_finite),
    "run_count": (_INT, _non_negative_int),
    "run_hours": (_NUMBER, _non_negative_finite),
}


def _check_state_fields(body: dict) -> None:
    spec_of = _STATE_FIELDS.get
    for name, value in body.items():
        spec = spec_of(name)
        if spec is None:  # common or unknown field: kept as is
            continue
        types, valid = spec
        if type(value) not in types:
            raise Reject("bad_type", name)
        if valid is not None and not valid(value):
            raise Reject("bad_value", name)


def _event_fields(body: dict) -> tuple[str, bool]:
    code = body.get("code", _MISSING)
    if code is _MISSING:
        raise Reject("missing_field", "code")
    if type(code) is not str:
        raise Reject("bad_type", "code")
    # str.isdigit alone would accept non-ASCII digits such as '²' or '٣'.
    if len(code) != 2 or not (code.isascii() and code.isdigit()):
        raise Reject("bad_value", "code")
    active = body.get("active", True)
    if active is not True and active is not False:
        raise Reject("bad_type", "active")
    detail = body.get("detail", _MISSING)
    if detail is not _MISSING and type(detail) is not dict:
        raise Reject("bad_type", "detail")
    return code, active
