"""Factory helpers for tests (real rows through the real services)."""
from __future__ import annotations

import itertools

from equipment.core.actor import SYSTEM, Actor, acting_as
from equipment.registry.identifiers import make_credit_code

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery"


def credit_code(n: int) -> str:
    return make_credit_code(f"91310000{n:09d}")


def device_code(n: int, variety: str = "3110") -> str:
    return f"{variety}31001" + "2019" + f"{n % 100000:05d}"


class Factory:
    def __init__(self, db):
        self.db = db

    def org(self, kind="user_unit", name=None, **kw):
        from equipment.registry import service
        n = next(_seq)
        with acting_as(SYSTEM):
            return service.create_organization(actor=SYSTEM, kind=kind, name=name or f"{kind} {n}",
                                               code=credit_code(n), phone=kw.pop("phone", f"0591-8{n:07d}"), **kw)

    def user(self, role="crew", org=None, username=None):
        from equipment.auth import service
        n = next(_seq)
        with acting_as(SYSTEM):
            return service.create_user(username=username or f"{role}{n}", role=role,
                                       org_id=org.id if org else None, password=PASSWORD)

    def actor(self, user) -> Actor:
        return Actor(user_id=user.id, username=user.username, role=user.role, org_id=user.org_id)

    def token(self, client, user) -> dict:
        resp = client.post("/api/v1/auth/token", json={"username": user.username, "password": PASSWORD})
        assert resp.status_code == 200, resp.get_json()
        return {"Authorization": f"Bearer {resp.get_json()['access_token']}"}

    def session(self, client, user_id: int, **extra) -> None:
        """Log a test client in as a page session without the login form: a real session credential row
        (as the form would make) named in the signed cookie. `extra` adds cookie session keys (e.g. csrf)."""
        import datetime as dt
        import secrets
        from equipment.auth.models import ApiToken, User
        from equipment.auth.service import hash_token
        from equipment.core.models import utcnow
        token = secrets.token_urlsafe(32)
        user = self.db.session.get(User, user_id)
        self.db.session.add(ApiToken(user_id=user_id, token_hash=hash_token(token), kind="session",
                                     credentials_version=user.credentials_version,
                                     expires_at=utcnow() + dt.timedelta(hours=1)))
        self.db.session.commit()
        with client.session_transaction() as sess:
            sess.update({"uid": user_id, "sid": token, **extra})

    def elevator(self, user_org=None, maint_org=None, lat=26.08, lon=119.30, **kw):
        from equipment.registry import service
        n = next(_seq)
        user_org = user_org or self.org("user_unit")
        data = {"category": "3110", "device_code": device_code(n), "rescue_code": f"{10000 + n % 90000}",
                "address": f"福州市鼓楼区测试路{n}号", "location": {"lat": lat, "lon": lon},
                "user_org_id": user_org.id, "maintenance_org_id": maint_org.id if maint_org else None,
                "attributes": {"rated_load_kg": 1000, "rated_speed_mps": 1.75, "floors": 18}}
        data.update(kw)
        with acting_as(SYSTEM):
            return service.create_equipment(actor=SYSTEM, **data)

    def cylinder(self, user_org=None, **kw):
        from equipment.registry import service
        n = next(_seq)
        user_org = user_org or self.org("user_unit")
        data = {"category": "2300", "cylinder_code": f"CYL{n:08d}", "address": "福州市仓山区充装站",
                "user_org_id": user_org.id,
                "attributes": {"gas_medium": "LPG", "gas_class": "lpg", "manufacture_date": "2020-05-01",
                               "design_life_years": 8}}
        data.update(kw)
        with acting_as(SYSTEM):
            return service.create_equipment(actor=SYSTEM, **data)
