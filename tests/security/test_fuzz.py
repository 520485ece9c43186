"""Byte-level fuzzing of the two untrusted-input parsers, beyond the field-level properties in
tests/registry/test_import.py (well-formed CSV with generated cells) and tests/telemetry/test_payload.py
(arbitrary bytes, JSON values and objects):

- whole import files: random bytes, valid files mutated byte by byte, other encodings (UTF-16, Latin-1,
  GB18030, truncated multi-byte), odd delimiters, line endings and quoting, oversized fields, damaged XLSX
  workbooks. The reader raises nothing but ImportRejected; over HTTP a bad file is a 422 and writes nothing.
- telemetry payloads: valid protocol messages mutated byte by byte and with hostile JSON spliced into
  their fields (huge numbers, lone surrogates, deep nesting, duplicate keys): parse_message returns a
  Message or raises Reject with a known reason, nothing else.
"""
from __future__ import annotations

import io
import zipfile

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from equipment.registry import importer
from equipment.telemetry.ingest import dumps
from equipment.telemetry.payload import INT64_MAX, REASONS, Message, Reject, parse_message
from tests.factories import credit_code, device_code

# --- import files ------------------------------------------------------------------------------------

HEADER = "category,device_code,rescue_code,address,lat,lon,user_org_code,attr.floors"
GOOD_ROW = f"3110,{device_code(71001)},71001,福州市晋安区模糊路1号,26.1,119.3,{credit_code(71001)},12"
GOOD_CSV = f"{HEADER}\n{GOOD_ROW}\n".encode()


def _xlsx() -> bytes:
    import openpyxl
    wb = openpyxl.Workbook()
    for line in (HEADER, GOOD_ROW):
        wb.active.append(line.split(","))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


GOOD_XLSX = _xlsx()


def _mutate(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    out = bytearray(data)
    for kind, pos, chunk in edits:
        pos %= len(out) + 1
        if kind == 0:
            out[pos:pos] = chunk  # insert
        elif kind == 1:
            del out[pos:pos + len(chunk) + 1]  # delete
        else:
            out[pos:pos + len(chunk)] = chunk  # overwrite
    return bytes(out)


edits = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 10_000),
                           st.binary(min_size=1, max_size=8) | st.sampled_from(
                               [b"\x00", b'"', b"\r", b"\n", b",", b";", b"\t", b"\xff\xfe", b"\xe4\xbd", b"PK"])),
                 min_size=1, max_size=6)


def _recode(text: str, encoding: str) -> bytes:
    if encoding == "utf-8-truncated":
        return text.encode()[:-1] + "你".encode()[:2]
    return text.encode(encoding, errors="replace")


@st.composite
def csv_texts(draw) -> bytes:
    delimiter = draw(st.sampled_from([",", ";", "\t", "|", " "]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r", "\n\r"]))
    cells = st.text(max_size=12) | st.sampled_from(['"', '""', '"a,b"', "a\nb", "=cmd|' /C calc'!A0", "3110"])
    rows = draw(st.lists(st.lists(cells, min_size=1, max_size=9), max_size=4))
    lines = [HEADER.replace(",", delimiter)] + [delimiter.join(r) for r in rows]
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16", "utf-16-le", "latin-1",
                                     "utf-8-truncated"]))
    return _recode(newline.join(lines), encoding)


def _big_field(n: int) -> bytes:
    return f"{HEADER}\n3110,{'x' * n}\n".encode()


import_files = st.one_of(
    st.tuples(st.binary(max_size=3000), st.sampled_from(["u.csv", "u.xlsx", "u", "u.CSV", "u.XLSX"])),
    st.tuples(edits.map(lambda e: _mutate(GOOD_CSV, e)), st.just("u.csv")),
    st.tuples(edits.map(lambda e: _mutate(GOOD_XLSX, e)), st.just("u.xlsx")),
    st.tuples(csv_texts(), st.sampled_from(["u.csv", "u.xlsx"])),
    st.tuples(st.integers(100_000, 300_000).map(_big_field), st.just("u.csv")),
)


def _damaged_sheet(cut: int) -> bytes:
    """A well-formed zip whose worksheet XML is cut short: it opens, then fails while being read."""
    src, out = zipfile.ZipFile(io.BytesIO(GOOD_XLSX)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            dst.writestr(item, data[:cut % len(data)] if item.filename.endswith("sheet1.xml") else data)
    return out.getvalue()


def _read(data: bytes, name: str):
    try:
        rows = importer.read_rows(data, name)
    except importer.ImportRejected as err:
        assert err.status == 422 and err.message
        return err
    assert isinstance(rows, list) and all(isinstance(k, str) and isinstance(v, str)
                                          for r in rows for k, v in r.items())
    return rows


@settings(max_examples=400, deadline=None)
@given(file=import_files)
def test_import_reader_rejects_or_reads_any_file(file):
    _read(*file)


@settings(max_examples=60, deadline=None)
@given(cut=st.integers(1, 5000))
def test_damaged_workbooks_are_rejected_not_crashed(cut):
    _read(_damaged_sheet(cut), "u.xlsx")


def test_known_breakers_are_rejected():
    assert isinstance(_read(_big_field(200_000), "u.csv"), importer.ImportRejected)  # csv field limit
    assert isinstance(_read(_damaged_sheet(300), "u.xlsx"), importer.ImportRejected)
    assert isinstance(_read(GOOD_CSV.decode().encode("utf-16"), "u.csv"), importer.ImportRejected)
    assert _read(GOOD_CSV, "u.csv")[0]["category"] == "3110"


def _count(db):
    from equipment.registry.models import Equipment
    return db.session.query(Equipment).count()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(file=import_files)
def test_bad_files_over_http_are_422_and_write_nothing(client, f, db, file):
    data, name = file
    h = _admin(client, f)
    before = _count(db)
    resp = client.post("/api/v1/equipment/import", headers=h, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), name)})
    assert resp.status_code in (200, 422), (resp.status_code, resp.data[:300])
    body = resp.get_json()
    if resp.status_code == 422:
        assert _count(db) == before
        assert body.get("errors") or body.get("error", {}).get("message")
    else:  # a mutation that left a valid file: it imports whole
        assert body["ok"] and _count(db) == before + body["imported"]


_TOKENS: dict = {}


def test_the_good_file_imports(client, f, db):
    """The fuzzed files start from a file that imports, so mutations probe near-valid input."""
    _TOKENS.clear()
    resp = client.post("/api/v1/equipment/import", headers=_admin(client, f), content_type="multipart/form-data",
                       data={"file": (io.BytesIO(GOOD_CSV), "u.csv")})
    assert resp.status_code == 200 and resp.get_json()["imported"] == 1, resp.get_json()


def _admin(client, f):
    # hypothesis reruns the body under one fixture instance: one login (and its user) per test instance,
    # and the organisation GOOD_ROW names, so a file the mutations left valid really imports
    if id(client) not in _TOKENS:
        from equipment.core.actor import SYSTEM, acting_as
        from equipment.registry import service
        _TOKENS.clear()
        with acting_as(SYSTEM):
            service.create_organization(actor=SYSTEM, kind="user_unit", name="模糊物业", code=credit_code(71001))
        _TOKENS[id(client)] = f.token(client, f.user("admin"))
    return _TOKENS[id(client)]


# --- telemetry payloads ------------------------------------------------------------------------------

NOW_MS = 1795400000000
TOPICS = ["equipment/LT-00AB12/state", "equipment/LT-00AB12/event", "equipment/LT-00AB12/online"]
VALID = [
    b'{"seq":1042,"ts":1795400000123,"mode":"normal","moving":false,"direction":"none","floor":7,'
    b'"door_zone":false,"door_closed":true,"occupied":true,"speed":0,"run_count":12,"run_hours":3.5}',
    b'{"seq":1043,"ts":"2026-11-23T02:13:20.5+08:00","boot":3,"code":"11","active":true,"detail":{"a":1}}',
    b"1",
]
HOSTILE = [b"18446744073709551616", b"-9223372036854775809", b"1e400", b"-0", b"0.0e-400", b'"\\ud800"',
           b'"\\u0000"', b"NaN", b"Infinity", b"[" * 2000 + b"]" * 2000, b'{"a":' * 600 + b"1" + b"}" * 600,
           b'"9999-12-31T23:59:59-23:59"', b'"0000-01-01T00:00:00Z"', b'"2026-11-23T02:13:20.' + b"9" * 900 + b'Z"',
           b"true", b"null", b'"\xed\xa0\x80"', b'"' + "٣".encode() + b'"', b"1" * 400]
FIELDS = [b"seq", b"ts", b"boot", b"code", b"active", b"detail", b"floor", b"speed", b"mode", b"run_count"]


def _splice(which: int, field: bytes, value: bytes, duplicate: bool = False) -> bytes:
    """A valid message with `field` set to raw JSON text `value` (after its original, as a duplicate key)."""
    obj = orjson.loads(VALID[which])
    name = field.decode()
    parts = [b'"%s":%s' % (k.encode(), orjson.dumps(v)) for k, v in obj.items() if k != name or duplicate]
    return b"{" + b",".join([*parts, b'"' + field + b'":' + value]) + b"}"


def outcome(topic: str, payload: bytes):
    try:
        msg = parse_message(topic, payload, now_ms=NOW_MS)
    except Reject as err:
        assert err.reason in REASONS, err.reason
        return err
    assert isinstance(msg, Message) and msg.kind in ("state", "event", "online")
    if msg.kind != "online":
        assert 0 <= msg.seq <= INT64_MAX and 0 <= msg.boot <= INT64_MAX
        assert abs(msg.ts_ms - NOW_MS) <= 30 * 86400 * 1000
        dumps(msg.body)  # what is accepted must be storable (orjson reads deeper than it writes)
    return msg


@settings(max_examples=1500, deadline=None)
@given(which=st.integers(0, 2), changes=edits)
def test_mutated_valid_messages(which, changes):
    outcome(TOPICS[which], _mutate(VALID[which], changes))


@settings(max_examples=1000, deadline=None)
@given(which=st.integers(0, 1), field=st.sampled_from(FIELDS), value=st.sampled_from(HOSTILE),
       duplicate=st.booleans())
def test_hostile_json_in_any_field(which, field, value, duplicate):
    outcome(TOPICS[which], _splice(which, field, value, duplicate))


def test_hostile_examples_reject_with_their_reason():
    assert outcome(TOPICS[0], _splice(0, b"seq", b"18446744073709551616")).reason in ("bad_json", "bad_type")
    assert outcome(TOPICS[0], b"[" * 2000 + b"]" * 2000).reason in ("bad_json", "not_object", "too_large")
    assert outcome(TOPICS[1], _splice(1, b"code", '"٣٣"'.encode())).reason == "bad_value"
    assert outcome(TOPICS[0], _splice(0, b"ts", b'"0000-01-01T00:00:00Z"')).reason == "bad_timestamp"
    assert isinstance(outcome(TOPICS[0], VALID[0]), Message)


@pytest.mark.parametrize("depth", [40, 300, 900])
@pytest.mark.parametrize("field", [b"detail", b"extra"])
def test_deeply_nested_bodies_are_refused(field, depth):
    """orjson reads 1024 levels but writes 254: a body the store cannot write would end as poison."""
    deep = b'{"a":' * depth + b"1" + b"}" * depth
    assert isinstance(outcome(TOPICS[1], _splice(1, field, deep)), Reject)
