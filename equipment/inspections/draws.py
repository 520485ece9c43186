"""Random spot checks (双随机): random units, random inspectors, reproducible from the stored seed and inputs."""
from __future__ import annotations

import hashlib
import random
import secrets

from sqlalchemy import or_, select

from equipment.core.actor import Actor
from equipment.core.db import atomic, get_or_404
from equipment.core.errors import Forbidden, Invalid
from equipment.extensions import db
from equipment.inspections.models import SpotCheckAssignment, SpotCheckDraw
from equipment.auth import service as auth
from equipment.registry import service as registry

FILTER_KEYS = ("category", "district_code", "status")


def _candidates(filters: dict) -> tuple[list[int], dict[int, set]]:
    """Units matching the filters in id order (deterministic), with the organisations each must not meet."""
    u = registry.unit_view()
    stmt = select(u.c.id, u.c.user_org_id, u.c.maintenance_org_id, u.c.maker_org_id)
    if filters.get("category"):
        stmt = stmt.where(or_(u.c.family == filters["category"], u.c.category_code == filters["category"]))
    if filters.get("district_code"):
        stmt = stmt.where(u.c.district_code == filters["district_code"])
    if filters.get("status"):
        stmt = stmt.where(u.c.status == filters["status"])
    else:
        stmt = stmt.where(u.c.status != "scrapped")
    rows = db.session.execute(stmt.order_by(u.c.id)).all()
    return [r.id for r in rows], {r.id: {r.user_org_id, r.maintenance_org_id, r.maker_org_id} - {None} for r in rows}


def _pool(user_ids: list[int] | None = None) -> list[tuple[int, int]]:
    return auth.active_members("inspector", user_ids)


def compute(seed: int, candidate_ids: list[int], conflicts: dict[int, set], pool: list[tuple[int, int]],
            sample_size: int) -> list[dict]:
    """Pure: the same inputs give the same assignment on any machine (Mersenne Twister, ordered inputs)."""
    rng = random.Random(seed)
    sample = rng.sample(candidate_ids, min(sample_size, len(candidate_ids)))
    result = []
    for equipment_id in sample:
        eligible = [p for p in pool if p[1] not in conflicts[equipment_id]]
        user_id, org_id = rng.choice(eligible) if eligible else (None, None)
        result.append({"equipment_id": equipment_id, "inspector_user_id": user_id, "agency_org_id": org_id})
    return result


def _digest(ids: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()


def _clean_filters(filters: dict) -> dict:
    unknown = set(filters) - set(FILTER_KEYS)
    if unknown:
        raise Invalid("Unknown filter", details={k: ["unknown filter"] for k in sorted(unknown)})
    return {k: v for k, v in filters.items() if v not in (None, "")}


@atomic
def create_draw(*, actor: Actor, filters: dict, sample_size: int, seed: int | None = None,
                inspector_ids: list[int] | None = None) -> SpotCheckDraw:
    if not actor.is_global:
        raise Forbidden("Only regulators draw spot checks")
    if sample_size < 1:
        raise Invalid("Invalid sample size", details={"sample_size": ["must be >= 1"]})
    filters = _clean_filters(filters)
    seed = secrets.randbits(62) if seed is None else int(seed)
    ids, conflicts = _candidates(filters)
    pool = _pool(inspector_ids)
    if not pool:
        raise Invalid("No inspectors", details={"inspector_ids": ["no active inspectors to assign"]})
    result = compute(seed, ids, conflicts, pool, sample_size)
    draw = SpotCheckDraw(seed=seed, filters=filters, sample_size=sample_size, inspector_ids=[p[0] for p in pool],
                         candidate_count=len(ids), candidate_digest=_digest(ids), result=result,
                         created_by=actor.username)
    db.session.add(draw)
    db.session.flush()
    for position, row in enumerate(result):
        db.session.add(SpotCheckAssignment(draw_id=draw.id, position=position, status="open", **row))
    return draw


def get_draw(*, actor: Actor, draw_id: int) -> SpotCheckDraw:
    if not actor.is_global:
        raise Forbidden("Only regulators see draws")
    return get_or_404(SpotCheckDraw, draw_id, "No such draw")


def rerun(*, draw: SpotCheckDraw) -> dict:
    """Anyone holding the stored inputs gets the stored result; a changed registry shows as a digest mismatch."""
    ids, conflicts = _candidates(draw.filters or {})
    result = compute(draw.seed, ids, conflicts, _pool(draw.inspector_ids), draw.sample_size)
    return {"draw_id": draw.id, "seed": draw.seed, "matches": result == draw.result,
            "candidates_unchanged": _digest(ids) == draw.candidate_digest, "result": result}


def verify(*, actor: Actor, draw_id: int) -> dict:
    return rerun(draw=get_draw(actor=actor, draw_id=draw_id))


def assignments_for(*, actor: Actor, status: str | None = "open") -> list[SpotCheckAssignment]:
    stmt = select(SpotCheckAssignment).order_by(SpotCheckAssignment.id)
    if not actor.is_global:
        stmt = stmt.where(SpotCheckAssignment.inspector_user_id == actor.user_id)
    if status:
        stmt = stmt.where(SpotCheckAssignment.status == status)
    return list(db.session.scalars(stmt))
