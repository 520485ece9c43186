"""Emergency settings read from the environment at use time (so tests and operators can change them)."""
from __future__ import annotations

import os

from flask import current_app

CHANNEL_ORDER = "webhook,sms,email"


def env(name: str, default: str | None = None) -> str | None:
    """EQUIPMENT_<name> from app config (tests) or the environment."""
    cfg = current_app.config.get(f"EMERGENCY_{name}") if current_app else None
    if cfg is not None:
        return str(cfg)
    value = os.environ.get(f"EQUIPMENT_{name}")
    return value if value not in (None, "") else default


def channel_order() -> list[str]:
    return [c.strip() for c in (env("NOTIFY_CHANNELS", CHANNEL_ORDER) or "").split(",") if c.strip()]


def notify_timeout_s() -> float:
    return float(env("NOTIFY_TIMEOUT_S", "5"))


def notify_max_attempts() -> int:
    return int(env("NOTIFY_MAX_ATTEMPTS", "8"))


def fire_brigade() -> dict:
    """Where level 3 goes: the 119 centre's phone (SMS gateway), email, and an optional own webhook."""
    return {"name": "119 消防救援", "phone": env("FIRE_PHONE", "119"), "email": env("FIRE_EMAIL"),
            "webhook": env("FIRE_WEBHOOK_URL")}


def setting(name: str, default):
    """Numeric thresholds from equipment/config.py (ACCEPT_DEADLINE_S, ARRIVAL_DEADLINE_S, LEVEL2_RADIUS_M)."""
    return float(current_app.config.get(name, default))
