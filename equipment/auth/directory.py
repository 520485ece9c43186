"""Looking users up, for other domains (through auth.service): who a username is, who may be drawn."""
from __future__ import annotations

from sqlalchemy import select

from equipment.auth.models import User
from equipment.extensions import db


def find_user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def active_members(role: str, user_ids: list[int] | None = None) -> list[tuple[int, int]]:
    """(user id, organisation id) of the active users of `role` who belong to an organisation, in id order."""
    stmt = select(User.id, User.org_id).where(User.role == role, User.active.is_(True), User.org_id.isnot(None))
    if user_ids is not None:
        stmt = stmt.where(User.id.in_(user_ids))
    return [(r.id, r.org_id) for r in db.session.execute(stmt.order_by(User.id))]
