"""Points and distances that behave the same on PostGIS and SpatiaLite."""
from __future__ import annotations

import math

from geoalchemy2.elements import WKTElement
from geoalchemy2.shape import to_shape

SRID = 4326
EARTH_RADIUS_M = 6_371_008.8


def point(lat: float, lon: float) -> WKTElement:
    return WKTElement(f"POINT({lon} {lat})", srid=SRID)


def lat_lon(geom) -> dict | None:
    if geom is None:
        return None
    shp = to_shape(geom)
    return {"lat": shp.y, "lon": shp.x}


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def degree_box(lat: float, radius_m: float) -> tuple[float, float]:
    """Half-widths in degrees (lat, lon) of a box that contains a circle of radius_m: used to hit spatial indexes."""
    dlat = radius_m / 111_320.0
    dlon = radius_m / (111_320.0 * max(0.01, math.cos(math.radians(lat))))
    return dlat, dlon
