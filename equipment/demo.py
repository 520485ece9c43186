"""`equipment demo`: seed a realistic demo city (Fuzhou) and run the platform with the terminal simulator."""
from __future__ import annotations

import logging
import random

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from equipment.auth import service as auth
from equipment.auth.models import User
from equipment.core.actor import SYSTEM, acting_as
from equipment.core.db import atomic
from equipment.core.domain import domains_of
from equipment.core.logs import configure as configure_logs
from equipment.extensions import db
from equipment.registry import identifiers, service
from equipment.serve import default_public_url, run_web, start_background, stop_background

log = logging.getLogger("equipment.demo")
DISTRICTS = {"350102": ("鼓楼区", 26.082, 119.296), "350103": ("台江区", 26.058, 119.314),
             "350104": ("仓山区", 26.040, 119.320), "350105": ("马尾区", 25.990, 119.455),
             "350111": ("晋安区", 26.110, 119.330)}
STREETS = ["五四路", "八一七北路", "工业路", "福飞路", "湖东路", "东街", "杨桥路", "江滨大道", "华林路", "六一路"]
DEMO_PASSWORD = "demo-password-96333"
USERS = [("admin", "admin", None), ("regulator", "regulator", None), ("dispatcher", "dispatcher", "centre"),
         ("inspector", "inspector", "agency"), ("crew1", "crew", "maint0"), ("crew2", "crew", "maint0"),
         ("crew3", "crew", "maint1"), ("owner", "owner", "user0")]


def _orgs():
    spec = [("centre", "emergency_centre", "福州市96333电梯应急处置中心", "0591-96333"),
            ("agency", "inspection_agency", "福州市特种设备检验研究院", "0591-87654321"),
            ("maker", "maker", "闽江电梯制造有限公司", "0591-22334455"),
            ("maint0", "maintenance_unit", "福州安达电梯维保有限公司", "0591-88880001"),
            ("maint1", "maintenance_unit", "榕城电梯工程有限公司", "0591-88880002"),
            ("user0", "user_unit", "鼓楼区金山物业管理有限公司", "0591-66660001"),
            ("user1", "user_unit", "台江区万达商业物业", "0591-66660002"),
            ("user2", "user_unit", "仓山区城市花园业主委员会", "0591-66660003"),
            ("gas", "user_unit", "福州华润燃气液化气充装站", "0591-66660004")]
    out = {}
    for n, (key, kind, name, phone) in enumerate(spec):
        out[key] = service.create_organization(actor=SYSTEM, kind=kind, name=name, phone=phone,
                                               code=identifiers.make_credit_code(f"913501007{n:08d}"))
    return out


def _elevators(orgs, count, rng):
    units = []
    for i in range(count):
        district, (dname, lat, lon) = rng.choice(list(DISTRICTS.items()))
        units.append(service.create_equipment(
            actor=SYSTEM, category=rng.choice(["3110", "3110", "3110", "3120", "3310"]),
            device_code=f"3110{35}{i % 1000:03d}{2010 + i % 15}{i:05d}",
            registration_code=f"3110{district}{2010 + i % 15}{1 + i % 12:02d}{i % 10000:04d}",
            rescue_code=f"{35000 + i}", address=f"福州市{dname}{rng.choice(STREETS)}{rng.randint(1, 300)}号",
            district_code=district, location={"lat": lat + rng.uniform(-0.02, 0.02), "lon": lon + rng.uniform(-0.02, 0.02)},
            user_org_id=orgs[rng.choice(["user0", "user1", "user2"])].id,
            maintenance_org_id=orgs[rng.choice(["maint0", "maint1"])].id, maker_org_id=orgs["maker"].id,
            attributes={"rated_load_kg": rng.choice([630, 800, 1000, 1350]), "rated_speed_mps": rng.choice([1.0, 1.75, 2.5]),
                        "floors": rng.randint(6, 33), "manufacture_date": f"{2010 + i % 15}-0{1 + i % 9}-15"},
            components=[{"kind": "brake", "maker": "闽江制动", "model": rng.choice(["ZD-100", "ZD-200"]), "serial": f"B{i:06d}"}]))
    return units


def _cylinders(orgs, count, rng):
    for i in range(count):
        service.create_equipment(
            actor=SYSTEM, category="2300", cylinder_code=f"FZLPG{i:08d}", address="福州市仓山区华润燃气充装站",
            district_code="350104", user_org_id=orgs["gas"].id,
            attributes={"gas_medium": "液化石油气", "gas_class": "lpg", "volume_l": 35.5, "nominal_pressure_mpa": 2.1,
                        "manufacture_date": f"{2014 + i % 10}-06-01", "design_life_years": 8})


def _users(orgs):
    for name, role, org_key in USERS:
        auth.create_user(username=name, role=role, password=DEMO_PASSWORD,
                         org_id=orgs[org_key].id if org_key else None)


@atomic  # one transaction: a failed seed leaves nothing behind, so the next run seeds again
def seed(*, elevators: int = 200, cylinders: int = 50, seed_value: int = 96333) -> bool:
    """Idempotent: returns False when the demo city already exists."""
    if db.session.scalar(select(User.id).where(User.username == "admin")):
        return False
    rng = random.Random(seed_value)
    with acting_as(SYSTEM):
        orgs = _orgs()
        _users(orgs)
        _elevators(orgs, elevators, rng)
        _cylinders(orgs, cylinders, rng)
        for domain in domains_of():  # each domain's part: crews, due dates, inspection links...
            if domain.demo_seed is not None:
                domain.demo_seed(orgs=orgs, rng=rng)
    return True


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--elevators", default=200, show_default=True, type=int)
@click.option("--seed-only", is_flag=True, help="seed the demo city and exit")
@click.option("--no-simulator", is_flag=True)
@with_appcontext
def demo(host, port, elevators, seed_only, no_simulator):
    """Seed a demo city and run web + consumer + jobs + simulator / 演示城市."""
    from flask_migrate import upgrade
    configure_logs()
    default_public_url(current_app, host, port)
    upgrade(revision="heads")
    created = seed(elevators=elevators)
    click.echo(("seeded" if created else "already seeded") + f" demo city; log in as admin / dispatcher / crew1 "
               f"with password {DEMO_PASSWORD}")
    if seed_only:
        return
    app = current_app._get_current_object()
    stoppers = start_background(app)
    if not no_simulator:
        stoppers.append(_start_simulator(app))
    click.echo(f"open http://{host}:{port}/  (public scan pages: /q/<tag>, see the unit pages)")
    try:
        run_web(app, host, port)
    finally:
        stop_background(stoppers)


def _start_simulator(app):
    try:
        from equipment.telemetry import demo as telemetry_demo  # late: optional, the demo runs without it
    except ModuleNotFoundError:
        log.warning("telemetry simulator not available; running without it")
        return lambda: None
    return telemetry_demo.start_simulator(app)


def commands():
    return [demo]
