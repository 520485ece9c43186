"""Periodic work of the auth domain: forget expired credentials and old login failures."""
from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import delete

from equipment.auth.models import ApiToken, LoginThrottle
from equipment.core.db import atomic
from equipment.core.jobs import JobSpec
from equipment.core.models import utcnow
from equipment.extensions import db

JOBS = [JobSpec(id="auth.prune", func="equipment.auth.jobs:prune", cron={"hour": 3, "minute": 20})]


@atomic
def prune() -> dict:
    """Set-based deletes (no per-row audit: these rows no longer grant anything). Tokens a day past expiry go;
    revoked ones too, once expired, so a logout stays visible until then."""
    now = utcnow()
    tokens = db.session.execute(delete(ApiToken).where(ApiToken.expires_at < now - dt.timedelta(days=1)))
    quiet = now - dt.timedelta(seconds=current_app.config["LOGIN_THROTTLE_RESET_S"])
    failures = db.session.execute(delete(LoginThrottle).where(LoginThrottle.last_failure_at < quiet))
    return {"tokens": tokens.rowcount, "throttle": failures.rowcount}
