"""The trapped caller's phone reaches the desk (admin, dispatcher) and the crew sent to the unit, nobody else:
not the unit's owner, not regulators, not the incident's timeline as they see it."""
from __future__ import annotations

PHONE = "13800138000"


def test_caller_phone_only_for_the_desk_and_the_assigned_crew(client, f):
    from tests.security import world as W
    side, users = W._side(f, lat=26.08, lon=119.30)
    users["admin"], users["regulator"] = f.user("admin"), f.user("regulator")
    tokens = {role: f.token(client, user) for role, user in users.items()}
    resp = client.post("/api/v1/incidents", headers=tokens["dispatcher"],
                       json={"equipment_id": side.unit, "source": "phone", "caller_phone": PHONE})
    assert resp.status_code == 200  # attached to the open one, which keeps its first caller's number
    phone = resp.get_json()["caller_phone"]
    assert phone in (PHONE, W.PUBLIC_REPLY_PHONE)
    seen = {}
    for role, headers in tokens.items():
        detail = client.get(f"/api/v1/incidents/{side.incident}", headers=headers)
        listed = client.get(f"/api/v1/incidents?equipment_id={side.unit}", headers=headers)
        if detail.status_code == 404:  # the inspector does not see incidents at all
            seen[role] = None
            continue
        body = detail.get_data(as_text=True) + listed.get_data(as_text=True)
        seen[role] = phone in body
    assert seen == {"admin": True, "dispatcher": True, "crew": True, "owner": False, "regulator": False,
                    "inspector": None}
    jobs = client.get("/api/v1/crews/me/jobs", headers=tokens["crew"]).get_json()
    assert [j["caller_phone"] for j in jobs] == [phone]
    events = client.get(f"/api/v1/incidents/{side.incident}", headers=tokens["owner"]).get_json()["events"]
    assert any(e["kind"] == "signal" for e in events)  # the timeline is there, without the number
