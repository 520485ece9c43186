"""parse_message / parse_topic against PROTOCOL.md (terminal protocol v1)."""
from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings, strategies as st

from equipment.telemetry import codes
from equipment.telemetry.payload import (
    MAX_PAYLOAD_BYTES, REASONS, Message, Reject, parse_message, parse_topic,
)

NOW_MS = 1795400000000  # 2026-11-23, next to the PROTOCOL.md examples
STATE_T = "equipment/LT-000123/state"
EVENT_T = "equipment/LT-000123/event"
ONLINE_T = "equipment/LT-000123/online"


def parse(topic, obj_or_bytes):
    payload = obj_or_bytes if isinstance(obj_or_bytes, bytes) else orjson.dumps(obj_or_bytes)
    return parse_message(topic, payload, now_ms=NOW_MS)


def rejected(topic, obj_or_bytes) -> Reject:
    with pytest.raises(Reject) as info:
        parse(topic, obj_or_bytes)
    return info.value


def state(**fields):
    return {"seq": 1, "ts": NOW_MS, **fields}


def event(**fields):
    return {"seq": 1, "ts": NOW_MS, "code": "04", **fields}


# --- accepted ----------------------------------------------------------------------------------

def test_protocol_examples_accepted():
    s = parse(STATE_T, b'{"seq":1042,"ts":1795400000123,"mode":"normal","moving":false,'
                       b'"direction":"none","floor":7,"door_zone":false,"door_closed":true,'
                       b'"occupied":true,"speed":0}')
    assert (s.terminal_id, s.kind, s.seq, s.boot, s.ts_ms) == ("LT-000123", "state", 1042, 0,
                                                               1795400000123)
    assert s.body["floor"] == 7 and s.code is None and s.active is None
    e = parse(EVENT_T, b'{"seq":1043,"ts":1795400001000,"code":"04","active":true}')
    assert (e.kind, e.code, e.active, e.unknown_code, e.seq) == ("event", "04", True, False, 1043)


def test_online_payloads():
    assert parse(ONLINE_T, b"1").body == {"online": True}
    assert parse(ONLINE_T, b" 0\r\n").body == {"online": False}
    m = parse(ONLINE_T, b"1")
    assert (m.seq, m.boot, m.ts_ms) == (None, 0, None)


def test_unknown_fields_kept_and_boot_read():
    m = parse(STATE_T, state(boot=3, vendor_x={"a": [1]}, floor=-2, run_hours=1.5))
    assert m.boot == 3 and m.body["vendor_x"] == {"a": [1]} and m.body["floor"] == -2


def test_every_known_state_field_accepted():
    m = parse(STATE_T, state(mode="earthquake", moving=True, direction="up", floor=3,
                             door_zone=True, door_closed=False, occupied=False, speed=1.75,
                             mains_power=True, run_count=0, run_hours=0))
    assert m.body["speed"] == 1.75


@pytest.mark.parametrize("ts, expected_ms", [
    ("2026-11-23T10:13:20+08:00", 1795400000000),
    ("2026-11-23T02:13:20Z", 1795400000000),
    ("2026-11-23t02:13:20.123z", 1795400000123),
    ("2026-11-23 02:13:20.5-00:00", 1795400000500),
    ("2026-11-23T02:13:20.123456789+00:00", 1795400000123),
])
def test_rfc3339_timestamps(ts, expected_ms):
    assert parse(STATE_T, state(ts=ts)).ts_ms == expected_ms


def test_event_defaults_unknown_code_and_detail():
    m = parse(EVENT_T, {"seq": 0, "ts": NOW_MS, "code": "77", "detail": {"x": 1}})
    assert (m.active, m.unknown_code, m.body["detail"]) == (True, True, {"x": 1})
    assert parse(EVENT_T, event(code="11", active=False)).active is False


def test_timestamp_window_edges_inclusive():
    assert parse(STATE_T, state(ts=NOW_MS + 24 * 3600 * 1000)).ts_ms > NOW_MS
    assert parse(STATE_T, state(ts=NOW_MS - 30 * 24 * 3600 * 1000)).ts_ms < NOW_MS


# --- rejected: one concrete example per reason -------------------------------------------------

@pytest.mark.parametrize("topic, payload, reason, detail", [
    (STATE_T, b"{" + b" " * MAX_PAYLOAD_BYTES + b"}", "too_large", None),
    (ONLINE_T, b"1" * (MAX_PAYLOAD_BYTES + 1), "too_large", None),
    (STATE_T, b'{"seq":1,', "bad_json", None),
    (STATE_T, b'{"seq":1,"ts":"\xff"}', "bad_json", None),
    (STATE_T, b"NaN", "bad_json", None),
    (STATE_T, b"[1,2]", "not_object", None),
    (EVENT_T, b'"04"', "not_object", None),
    (STATE_T, {"ts": NOW_MS}, "missing_field", "seq"),
    (STATE_T, {"seq": 1}, "missing_field", "ts"),
    (EVENT_T, {"seq": 1, "ts": NOW_MS}, "missing_field", "code"),
    (STATE_T, state(seq=True), "bad_type", "seq"),
    (STATE_T, state(seq="1"), "bad_type", "seq"),
    (STATE_T, state(seq=1.0), "bad_type", "seq"),
    (STATE_T, state(boot=None), "bad_type", "boot"),
    (STATE_T, state(ts=True), "bad_type", "ts"),
    (STATE_T, state(ts=1795400000000.5), "bad_type", "ts"),
    (STATE_T, state(moving=1), "bad_type", "moving"),
    (STATE_T, state(door_closed="true"), "bad_type", "door_closed"),
    (STATE_T, state(floor=True), "bad_type", "floor"),
    (STATE_T, state(floor=2.0), "bad_type", "floor"),
    (STATE_T, state(speed="0"), "bad_type", "speed"),
    (STATE_T, state(mode=1), "bad_type", "mode"),
    (STATE_T, state(run_count=False), "bad_type", "run_count"),
    (EVENT_T, event(code=4), "bad_type", "code"),
    (EVENT_T, event(active=1), "bad_type", "active"),
    (EVENT_T, event(detail="x"), "bad_type", "detail"),
    (EVENT_T, event(detail=None), "bad_type", "detail"),
    (STATE_T, state(seq=-1), "bad_value", "seq"),
    (STATE_T, state(seq=2**63), "bad_value", "seq"),
    (STATE_T, state(boot=-5), "bad_value", "boot"),
    (STATE_T, state(mode="turbo"), "bad_value", "mode"),
    (STATE_T, state(direction="sideways"), "bad_value", "direction"),
    (STATE_T, state(speed=-0.1), "bad_value", "speed"),
    (STATE_T, state(run_count=-1), "bad_value", "run_count"),
    (STATE_T, state(run_hours=-2), "bad_value", "run_hours"),
    (EVENT_T, event(code="4"), "bad_value", "code"),
    (EVENT_T, event(code="004"), "bad_value", "code"),
    (EVENT_T, event(code="0a"), "bad_value", "code"),
    (EVENT_T, event(code="٠٤"), "bad_value", "code"),  # Arabic-Indic digits are not '0'-'9'
    (ONLINE_T, b"true", "bad_value", None),
    (ONLINE_T, b"", "bad_value", None),
    (ONLINE_T, b"10", "bad_value", None),
    (STATE_T, state(ts=NOW_MS + 24 * 3600 * 1000 + 1), "bad_timestamp", None),
    (STATE_T, state(ts=NOW_MS - 31 * 24 * 3600 * 1000), "bad_timestamp", None),
    (STATE_T, state(ts=0), "bad_timestamp", None),
    (STATE_T, state(ts="2026-11-23T02:13:20"), "bad_timestamp", None),
    (STATE_T, state(ts="2026-11-23"), "bad_timestamp", None),
    (STATE_T, state(ts="20261123T125320+0000"), "bad_timestamp", None),
    (STATE_T, state(ts="2026-13-23T02:13:20Z"), "bad_timestamp", None),
    (STATE_T, state(ts="2026-11-23T12:53:60Z"), "bad_timestamp", None),
    (STATE_T, state(ts="2026-11-23T02:13:20+24:00"), "bad_timestamp", None),
    (STATE_T, state(ts="2025-01-01T00:00:00Z"), "bad_timestamp", None),
    (STATE_T, state(ts="yesterday"), "bad_timestamp", None),
    ("equipment/LT-000123/cmd", state(), "topic_mismatch", None),
    ("equipment/LT 000123/state", state(), "topic_mismatch", None),
    ("equipment/" + "x" * 65 + "/state", state(), "topic_mismatch", None),
    ("equipment//state", state(), "topic_mismatch", None),
    ("other/LT-000123/state", state(), "topic_mismatch", None),
    ("equipment/LT-000123/state/extra", state(), "topic_mismatch", None),
    ("equipment/LT-000123/state\n", state(), "topic_mismatch", None),
])
def test_rejects(topic, payload, reason, detail):
    err = rejected(topic, payload)
    assert err.reason == reason
    if detail is not None:
        assert err.detail == detail


def test_every_reason_has_an_example():
    covered = {p[2] for p in test_rejects.pytestmark[0].args[1]}
    assert covered == set(REASONS)


def test_size_checked_before_parsing():
    # Invalid JSON that is also too large must count as too_large.
    assert rejected(STATE_T, b"\xff" * (MAX_PAYLOAD_BYTES + 1)).reason == "too_large"
    assert parse(STATE_T, orjson.dumps(state(pad="x" * 4000))).seq == 1  # 4,0xx bytes: fine


# --- topics ------------------------------------------------------------------------------------

def test_parse_topic():
    assert parse_topic("equipment/a_B-9/online") == ("a_B-9", "online")
    assert parse_topic("equipment/" + "x" * 64 + "/event") == ("x" * 64, "event")
    assert parse_topic("equipment/é/state") is None
    assert parse_topic(None) is None


def test_code_table():
    assert codes.is_known("11") and codes.CODES["11"].key == "trapped"
    assert codes.CODES["40"].kind == "status" and codes.CODES["90"].kind == "alarm_button"
    assert {c for c, i in codes.CODES.items() if i.kind == "fault"} == (
        {f"{n:02d}" for n in range(1, 12)} | {f"{n}" for n in range(61, 66)})
    assert codes.STATUS_CODES == {f"{n}" for n in range(40, 48)}
    assert not codes.is_known("12") and not codes.is_known("93")


# --- properties: never anything but a Message or a Reject --------------------------------------

def outcome(topic, payload):
    try:
        msg = parse_message(topic, payload, now_ms=NOW_MS)
    except Reject as err:
        assert err.reason in REASONS
        return err
    assert isinstance(msg, Message)
    assert msg.kind in ("state", "event", "online")
    return msg


json_scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12)
field_names = st.sampled_from(["seq", "boot", "ts", "code", "active", "detail", "mode", "moving",
                               "direction", "floor", "door_zone", "door_closed", "occupied",
                               "speed", "mains_power", "run_count", "run_hours", "other"])
plausible_values = (json_values | st.integers(min_value=NOW_MS - 40 * 86400000,
                                              max_value=NOW_MS + 2 * 86400000)
                    | st.sampled_from(["04", "11", "4", "normal", "up", "2026-11-23T02:13:20Z",
                                       "2026-11-23T02:13:20"]))
objects = st.dictionaries(field_names, plausible_values, max_size=10)
topics = st.sampled_from([STATE_T, EVENT_T, ONLINE_T]) | st.text(max_size=80)


def _dumps(value) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # integers beyond 64 bits: send the text anyway
        return repr(value).encode()


@settings(max_examples=400)
@given(topic=topics, payload=st.binary(max_size=5000))
def test_arbitrary_bytes(topic, payload):
    outcome(topic, payload)


@settings(max_examples=400)
@given(topic=topics, value=json_values)
def test_arbitrary_json_values(topic, value):
    outcome(topic, _dumps(value))


@settings(max_examples=1000)
@given(topic=st.sampled_from([STATE_T, EVENT_T]), obj=objects)
def test_arbitrary_objects(topic, obj):
    outcome(topic, _dumps(obj))


@given(topic=st.text(max_size=100))
def test_arbitrary_topics(topic):
    assert parse_topic(topic) is None or parse_topic(topic)[1] in ("state", "event", "online")
    outcome(topic, b'{"seq":1,"ts":1795400000000}')


def test_nesting_beyond_the_limit_is_bad_value():
    from equipment.telemetry.payload import MAX_DEPTH, Reject, parse_message
    now = 1_795_400_000_000
    ok = b'{"seq":1,"ts":%d,"code":"01","detail":' % now + b'{"a":' * (MAX_DEPTH - 1) + b"1" + b"}" * MAX_DEPTH
    assert parse_message("equipment/T1/event", ok, now_ms=now).code == "01"
    deep = b'{"seq":1,"ts":%d,"code":"01","detail":' % now + b'{"a":' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 2)
    try:
        parse_message("equipment/T1/event", deep, now_ms=now)
    except Reject as err:
        assert err.reason == "bad_value"
    else:
        raise AssertionError("a payload nested deeper than the limit was accepted")
