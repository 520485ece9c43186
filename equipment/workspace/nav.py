"""What each role may use, as data: the menu shows exactly these, the crawler test walks them."""
from __future__ import annotations

ALL = frozenset({"admin", "regulator", "dispatcher", "inspector", "crew", "owner"})
# (label key, path, roles). Order: the role's main work first. Admin sees what it may open (not the crew's
# own job page, which needs a crew record).
MENU = (
    ("nav.home", "/", ALL),
    ("nav.console", "/console", frozenset({"dispatcher", "regulator"})),
    ("nav.crew", "/crew", frozenset({"crew"})),
    ("nav.units", "/units", ALL),
    ("nav.obligations", "/obligations", frozenset({"regulator", "inspector", "crew", "owner"})),
    ("nav.inspections", "/inspections", frozenset({"regulator", "inspector", "owner"})),
    ("nav.maintenance", "/maintenance", frozenset({"regulator", "crew", "owner"})),
    ("nav.reports", "/reports", frozenset({"dispatcher", "regulator", "owner", "crew"})),
    ("nav.alarms", "/alarms", frozenset({"regulator", "dispatcher", "crew", "owner"})),
    ("nav.terminals", "/terminals", frozenset({"regulator", "crew", "owner"})),
    ("nav.stats", "/incidents/stats", frozenset({"regulator", "dispatcher", "owner"})),
    ("nav.filling", "/filling", frozenset({"owner", "crew"})),
    ("nav.rules", "/rules", frozenset({"regulator"})),
    ("nav.rejects", "/admin/telemetry/rejects", frozenset({"regulator"})),
    ("nav.api_docs", "/api/v1/docs", frozenset({"admin"})),
)


def menu_for(role: str | None) -> list[tuple[str, str]]:
    if role is None:
        return []
    return [(label, path) for label, path, roles in MENU if role in roles or (role == "admin" and path != "/crew")]
