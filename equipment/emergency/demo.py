"""Demo city: the maintenance crews on duty around Fuzhou, so a trapped car is dispatched at once."""
from __future__ import annotations

from equipment.auth import service as auth
from equipment.emergency.crews import register_crew

CREW_POSITIONS = {"crew1": (26.085, 119.300), "crew2": (26.060, 119.315), "crew3": (26.045, 119.322)}


def demo_seed(*, orgs, rng) -> None:
    for username, (lat, lon) in CREW_POSITIONS.items():
        user = auth.find_user(username)
        if user is not None:
            register_crew(user_id=user.id, on_duty=True, lat=lat, lon=lon, phone=f"1380591{user.id:04d}")
