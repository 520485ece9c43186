"""Which dispatch policy runs live is a rules-table setting (issue 14): set by the regulator (or an admin),
validated, audited, versioned, read by the next dispatch decision; the app setting is only the initial value."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from equipment.core.audit import AuditLog
from equipment.core.models import utcnow
from equipment.emergency import dispatch, service
from equipment.emergency.models import Dispatch, DispatchRuleSet
from tests.emergency.helpers import UNIT_LAT, UNIT_LON, crew, dispatcher, world

S = dt.timedelta(seconds=1)
URL = "/api/v1/dispatch-rules"
DEFAULTS = {"policy": "ladder", "level2_after_s": 300.0, "parallel": 1, "level2_radius_m": 10_000.0}


def _written(db) -> tuple[int, int]:
    return (db.session.scalar(select(func.count()).select_from(DispatchRuleSet)),
            db.session.scalar(select(func.count()).where(AuditLog.entity == "dispatch_rule_sets")))


def test_default_is_the_app_setting_and_only_the_regulator_changes_it(client, f, db):
    assert dispatch.current_policy().name == "ladder"  # nothing stored: the app setting, the legal ladder
    desk = f.token(client, dispatcher(f))
    assert client.get(URL, headers=desk).get_json() == {"version": 0, "rules": DEFAULTS}
    for who in (desk, f.token(client, f.user("crew", f.org("maintenance_unit")))):
        resp = client.put(f"{URL}/policy", headers=who, json={"value": "pool"})
        assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    regulator = f.token(client, f.user("regulator"))
    for body in ({"value": "fastest"}, {"value": "eta(soon)"}, {"value": "eta(nan)"}, {"value": "eta(-1)"},
                 {"value": " "}, {"value": 5}, {"value": "pool", "extra": 1}):
        resp = client.put(f"{URL}/policy", headers=regulator, json=body)
        assert resp.status_code == 422, (body, resp.get_json())
        assert set(resp.get_json()["error"]) == {"code", "message", "details"}
    assert client.put(f"{URL}/speed", headers=regulator, json={"value": "pool"}).status_code == 422
    assert _written(db) == (0, 0)  # bad input writes nothing
    assert dispatch.current_policy().name == "ladder"


def test_live_dispatch_follows_the_rule_after_a_change(client, f, db):
    """ladder offers the contracted crew though another unit's is nearer; after the regulator sets `pool` the
    next incident goes to the nearest crew of any unit, and the statistics show the rescue by another unit;
    back to `contract`, level 2 never opens."""
    maint, [(_, own)], unit = world(f)  # the contracted crew ~1.1 km away
    helper_user, neighbour = crew(f, f.org("maintenance_unit"), lat=UNIT_LAT + 0.002, lon=UNIT_LON)
    desk_user = dispatcher(f)
    first, _ = service.open_incident(equipment_id=unit.id, source="sensor", at=utcnow())
    assert first.crew_id == own.id and first.level == 1
    service.transition(actor=f.actor(desk_user), incident_id=first.id, action="cancel", now=utcnow())

    regulator = f.user("regulator")
    resp = client.put(f"{URL}/policy", headers=f.token(client, regulator),
                      json={"value": " pool ", "note": "监管决定：就近派单"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["version"] == 1 and resp.get_json()["rules"] == {**DEFAULTS, "policy": "pool"}
    audit = db.session.scalars(select(AuditLog).where(AuditLog.entity == "dispatch_rule_sets")).all()
    assert [(a.action, a.actor_name) for a in audit] == [("insert", regulator.username)]
    assert dispatch.current_policy().name == "pool"

    t0 = utcnow()
    second, _ = service.open_incident(equipment_id=unit.id, source="sensor", at=t0)
    assert second.crew_id == neighbour.id and second.level == 2
    service.transition(actor=f.actor(helper_user), incident_id=second.id, action="accept", now=t0 + 30 * S)
    day = t0.astimezone(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    stats = client.get(f"/api/v1/incidents/stats?from={day}&to={day}", headers=f.token(client, desk_user))
    assert stats.get_json()["total"]["other_unit_share"] == 1.0  # the accepted rescue is another unit's
    f.session(client, desk_user.id)
    page = client.get(f"/incidents/stats?from={day}&to={day}").get_data(as_text=True)
    assert 'id="total-other-unit">100%' in page and "就近派单（不限单位）" in page and "监管规则第 1 版" in page

    admin = f.token(client, f.user("admin"))
    assert client.put(f"{URL}/policy", headers=admin, json={"value": "contract"}).status_code == 200
    versions = client.get(f"{URL}/versions", headers=admin).get_json()
    assert [(v["version"], v["rules"]["policy"]) for v in versions] == [(2, "contract"), (1, "pool")]
    crew(f, f.org("maintenance_unit"), lat=UNIT_LAT + 0.003, lon=UNIT_LON)  # free, nearer, another unit
    t1 = utcnow()
    third, _ = service.open_incident(equipment_id=f.elevator(maint_org=maint, lat=UNIT_LAT, lon=UNIT_LON).id,
                                     source="sensor", at=t1)
    assert third.crew_id == own.id and third.level == 1
    from equipment.emergency import jobs
    jobs.escalate(now=t1 + 301 * S)  # the own crew lets its deadline pass: contract never asks another unit
    assert third.level == 3 and third.fire_notified_at is not None


def test_a_stored_policy_this_release_does_not_know_falls_back_to_the_setting(db, caplog):
    """Validated when set, but a later release may drop a policy: dispatch goes on with the app setting."""
    db.session.add(DispatchRuleSet(version=1, rules={"policy": "retired"}, created_by="migration"))
    db.session.flush()
    assert dispatch.current_policy().name == "ladder"
    assert "unknown policy 'retired'" in caplog.text


def test_a_committed_change_reaches_another_process(committed_app):
    """The web process commits the regulator's edit; a jobs or consumer process (its own app, engine and
    sessions) dispatches with it at its next decision, without a restart."""
    from equipment.core.actor import Actor
    from equipment.extensions import db as ext_db
    from tests.conftest import dispose_read_engines, make_app
    other = make_app(committed_app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with other.app_context():
            assert dispatch.current_policy().name == "ladder"
            ext_db.session.remove()
        with committed_app.app_context():
            service.set_dispatch_rule(actor=Actor(None, "reg", "regulator", None), key="policy", value="eta(10)")
            ext_db.session.remove()
        with other.app_context():
            got = dispatch.current_policy()
            assert (got.name, got.slack_min) == ("eta", 10.0)
            ext_db.session.remove()
    finally:
        with other.app_context():
            ext_db.engine.dispose()
        dispose_read_engines(other)


def test_the_escalation_numbers_are_rules_too(client, f, db):
    """When level 2 opens and how many crews of other units it asks at once: the regulator's numbers, bounded,
    read by the next escalation run."""
    from equipment.emergency import jobs
    regulator = f.token(client, f.user("regulator"))
    for key, bad in (("level2_after_s", "30"), ("level2_after_s", "nan"), ("level2_after_s", "soon"),
                     ("parallel", "0"), ("parallel", "2.5"), ("parallel", "9"), ("level2_radius_m", "100")):
        resp = client.put(f"{URL}/{key}", headers=regulator, json={"value": bad})
        assert resp.status_code == 422 and "value" in resp.get_json()["error"]["details"], (key, bad)
    assert _written(db) == (0, 0)
    for key, value in (("level2_after_s", "120"), ("parallel", "2")):
        assert client.put(f"{URL}/{key}", headers=regulator, json={"value": value}).status_code == 200
    policy = dispatch.current_policy()
    assert (policy.name, policy.level2_after_s, policy.parallel) == ("ladder", 120.0, 2)

    _, [(_, own)], unit = world(f)
    others = [crew(f, f.org("maintenance_unit"), lat=UNIT_LAT + 0.001 * (i + 1), lon=UNIT_LON)[1] for i in range(3)]
    t0 = utcnow()
    incident, _ = service.open_incident(equipment_id=unit.id, source="sensor", at=t0)
    assert incident.crew_id == own.id and incident.level == 1
    jobs.escalate(now=t0 + 100 * S)
    assert incident.level == 1  # before the regulator's 120 s
    jobs.escalate(now=t0 + 121 * S)
    assert incident.level == 2
    offered = {o.crew_id for o in db.session.scalars(select(Dispatch).where(Dispatch.incident_id == incident.id,
                                                                            Dispatch.level == 2))}
    assert offered == {others[0].id, others[1].id}  # the two nearest of other units, at once
