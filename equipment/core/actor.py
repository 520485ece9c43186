"""Who is acting: set per request by auth, per command by the CLI, per job by the scheduler."""
from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass

GLOBAL_ROLES = frozenset({"admin", "regulator"})
ROLES = ("admin", "regulator", "dispatcher", "inspector", "crew", "owner")


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    role: str
    org_id: int | None
    ip: str | None = None

    @property
    def is_global(self) -> bool:
        """Regulators and admins see every organisation's data."""
        return self.role in GLOBAL_ROLES


SYSTEM = Actor(user_id=None, username="system", role="admin", org_id=None)
PUBLIC = Actor(user_id=None, username="public", role="public", org_id=None)

_current: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("actor", default=None)


def current_actor() -> Actor | None:
    return _current.get()


def set_actor(actor: Actor | None):
    return _current.set(actor)


@contextlib.contextmanager
def acting_as(actor: Actor):
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)
