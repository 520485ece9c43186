"""Proof that a crew is at the unit before its 已到场 counts (a crew 900 km away could mark arrival).

Accepted: a recent scan of this unit's tag by the crew's signed-in browser (kept in the signed session
cookie by the scan page, never taken from the Referer), or a position within ARRIVAL_GEOFENCE_M of the unit:
sent with the click (the browser's geolocation) or the crew's stored position if it is fresh. The
dispatcher may still record arrival for a crew (audited, method "desk").
"""
from __future__ import annotations

import datetime as dt

from flask import current_app, has_request_context

from equipment.core.errors import Invalid
from equipment.core.geo import haversine_m, lat_lon
from equipment.registry import pages as registry_pages

def proof_from_request(equipment_id: int, *, lat=None, lon=None, accuracy_m=None) -> dict:
    scanned = registry_pages.scanned_at(equipment_id) if has_request_context() else None
    return {"scan_at": scanned, "lat": lat, "lon": lon, "accuracy_m": accuracy_m}


def _position(crew, proof: dict, now: dt.datetime) -> tuple[dict | None, str]:
    if proof.get("lat") is not None and proof.get("lon") is not None:
        return {"lat": proof["lat"], "lon": proof["lon"]}, "browser"
    max_age = float(current_app.config["ARRIVAL_POSITION_MAX_AGE_S"])
    if crew is not None and crew.location is not None and crew.position_at is not None \
            and (now - crew.position_at).total_seconds() <= max_age:
        return lat_lon(crew.location), "reported"
    return None, ""


def check(*, unit, crew, proof: dict | None, now: dt.datetime) -> dict:
    """The evidence recorded on the timeline; Invalid (422) with a Chinese message when there is none."""
    cfg = current_app.config
    proof = proof or {}
    scan_at = proof.get("scan_at")
    if scan_at and 0 <= now.timestamp() - float(scan_at) <= float(cfg["ARRIVAL_SCAN_MAX_AGE_S"]):
        return {"method": "scan", "scanned_at": dt.datetime.fromtimestamp(float(scan_at), dt.timezone.utc).isoformat()}
    radius = float(cfg["ARRIVAL_GEOFENCE_M"])
    here, source = _position(crew, proof, now)
    site = lat_lon(unit.location)
    if here is not None and site is not None:
        distance = haversine_m(here["lat"], here["lon"], site["lat"], site["lon"])
        accuracy = proof.get("accuracy_m") if source == "browser" else None
        if distance <= radius and (accuracy is None or accuracy <= radius):
            return {"method": "geofence", "source": source, "distance_m": round(distance),
                    "accuracy_m": round(accuracy) if accuracy is not None else None}
        raise Invalid("未在设备现场，无法确认到场 / not at the unit", details={"arrival": [
            f"定位显示您距设备约 {_km(distance)}（需在 {radius:.0f} 米内{'，且定位精度足够' if accuracy else ''}）："
            "请到场后扫描设备上的二维码确认到场 / you are not at the unit: scan its tag on site"]})
    raise Invalid("确认到场需要现场证明 / arrival needs proof", details={"arrival": [
        f"请扫描设备上的二维码，或开启定位后在设备 {radius:.0f} 米范围内确认到场 / "
        "scan the unit's tag or share your position at the unit"]})


def _km(metres: float) -> str:
    return f"{metres / 1000:.1f} 公里" if metres >= 1000 else f"{metres:.0f} 米"


def take_proof(body: dict, equipment_id: int) -> dict:
    """Move the position fields of a TransitionIn body into the proof (plus this session's tag scan)."""
    return proof_from_request(equipment_id, lat=body.pop("lat", None), lon=body.pop("lon", None),
                              accuracy_m=body.pop("accuracy_m", None))
