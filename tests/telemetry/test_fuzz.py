"""Hypothesis: generated bad payloads and topics go through the consumer's batch function on the real DB:
each is rejected with the right reason, nothing is stored, and processing goes on. (The live broker check
of the same property is tests/telemetry/test_live.py::test_bad_messages_counted_and_consumer_keeps_running.)
"""
from __future__ import annotations

import time

import orjson
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from equipment.core.actor import SYSTEM, acting_as
from equipment.telemetry import ingest, service
from equipment.telemetry.models import LatestState, TelemetryEvent, TelemetryState

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
json_scalars = st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=8)


@pytest.fixture()
def fuzz_rig(db, f):
    unit = f.elevator()
    with acting_as(SYSTEM):
        good = service.provision_terminal(actor=SYSTEM, equipment_id=unit.id)["terminal_id"]
        revoked = service.provision_terminal(actor=SYSTEM, equipment_id=unit.id)["terminal_id"]
        service.revoke_terminal(actor=SYSTEM, terminal_id=revoked)
    return {"db": db, "good": good, "revoked": revoked, "unit": unit.id,
            "ingestor": ingest.Ingestor(cfg=ingest.rules.RuleConfig())}


def _run(rig, topic, payload):
    with acting_as(SYSTEM):
        result = rig["ingestor"].process([ingest.Incoming(topic, payload, time.time())])
        rig["db"].session.commit()
    return result


def _stored(rig) -> int:
    s = rig["db"].session
    return sum(s.scalar(select(func.count()).select_from(m)) for m in (TelemetryState, TelemetryEvent)) + \
        (s.scalar(select(func.count()).select_from(LatestState).where(LatestState.body.is_not(None))) or 0)


def _expect(rig, topic, payload, reason):
    before = _stored(rig)
    result = _run(rig, topic, payload)
    assert result.rejects == {reason: 1}, (topic, payload, result.rejects)
    assert result.stored == 0 and _stored(rig) == before


@FUZZ
@given(raw=st.binary(max_size=64).filter(lambda b: _not_json(b)))
def test_invalid_json_is_bad_json(fuzz_rig, raw):
    _expect(fuzz_rig, f"equipment/{fuzz_rig['good']}/state", raw, "bad_json")


def _not_json(raw: bytes) -> bool:
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError:
        return True
    return False


@FUZZ
@given(value=st.lists(json_scalars, max_size=3) | json_scalars)
def test_non_objects_are_not_object(fuzz_rig, value):
    _expect(fuzz_rig, f"equipment/{fuzz_rig['good']}/event", orjson.dumps(value), "not_object")


@FUZZ
@given(size=st.integers(min_value=4097, max_value=20000))
def test_oversize_is_too_large(fuzz_rig, size):
    _expect(fuzz_rig, f"equipment/{fuzz_rig['good']}/state", b" " * size, "too_large")


@FUZZ
@given(field=st.sampled_from(["seq", "floor", "moving", "door_zone", "speed", "mode", "ts", "boot"]),
       value=st.text(max_size=5) | st.lists(st.integers(0, 9), max_size=2) | st.dictionaries(st.text(max_size=3),
                                                                                      st.integers(0, 9), max_size=2))
def test_wrong_types_are_bad_type_or_timestamp(fuzz_rig, field, value):
    body = {"seq": 1, "ts": int(time.time() * 1000), field: value}
    expected = "bad_type"
    if isinstance(value, str) and field in ("ts", "mode"):  # right type, wrong value
        expected = "bad_timestamp" if field == "ts" else "bad_value"
    _expect(fuzz_rig, f"equipment/{fuzz_rig['good']}/state", orjson.dumps(body), expected)


@FUZZ
@given(tid=st.from_regex(r"[A-Za-z0-9_-]{1,63}", fullmatch=True), kind=st.sampled_from(["state", "event"]))
def test_unknown_terminals_are_unknown_terminal(fuzz_rig, tid, kind):
    body = {"seq": 1, "ts": int(time.time() * 1000), "code": "02"}
    _expect(fuzz_rig, f"equipment/Z{tid}/{kind}", orjson.dumps(body), "unknown_terminal")


@FUZZ
@given(seq=st.integers(min_value=0, max_value=2**40))
def test_revoked_terminal_is_revoked_terminal(fuzz_rig, seq):
    body = {"seq": seq, "ts": int(time.time() * 1000)}
    _expect(fuzz_rig, f"equipment/{fuzz_rig['revoked']}/state", orjson.dumps(body), "revoked_terminal")


@FUZZ
@given(topic=st.text(max_size=40).filter(lambda t: not t.startswith("equipment/")) |
       st.from_regex(r"equipment/[^/]*[^A-Za-z0-9_/-][^/]*/state", fullmatch=True))
def test_bad_topics_are_topic_mismatch(fuzz_rig, topic):
    body = {"seq": 1, "ts": int(time.time() * 1000)}
    _expect(fuzz_rig, topic, orjson.dumps(body), "topic_mismatch")


def test_good_message_still_lands_after_the_storm(fuzz_rig):
    result = _run(fuzz_rig, f"equipment/{fuzz_rig['good']}/state",
                  orjson.dumps({"seq": 99, "ts": int(time.time() * 1000), "floor": 2}))
    assert result.stored == 1 and not result.rejects
