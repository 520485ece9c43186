"""Settings from EQUIPMENT_* environment variables (DESIGN.md contract)."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

DEFAULTS = {
    "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
    "TRAPPED_AFTER_S": 45.0,
    "STOP_OUTSIDE_ZONE_AFTER_S": 45.0,
    "OFFLINE_AFTER_S": 180.0,
    "ACCEPT_DEADLINE_S": 300.0,
    "ARRIVAL_DEADLINE_S": 1800.0,
    "LEVEL2_RADIUS_M": 10000.0,
    "LEVEL2_AFTER_S": 300.0,  # level 2 opens this long after the first offer without an accepted one
    "DISPATCH_POLICY": "ladder",  # contract | ladder | eta(SLACK_MIN) | pool (emergency/choice.py)
    "DISPATCH_PARALLEL": 1,  # level-2 offers made at once (the first crew to accept takes the job)
    "PUBLIC_RATE_LIMIT": "120/60",  # requests / seconds per client address
    "PUBLIC_REPORT_RATE_LIMIT": "6/600",  # scan-page reports per client address (IPv6: per /64), all processes
    "PUBLIC_REPORT_TAG_LIMIT": "10/600",  # scan-page reports per tag; over either: stored, held for the desk
    "PUBLIC_UNVERIFIED_TO_OWN_CREW": True,  # offer an unverified public 困人 to the unit's own contracted crew
    "ARRIVAL_GEOFENCE_M": 300.0,  # a crew's 已到场 needs a position this close to the unit (or a tag scan)
    "ARRIVAL_SCAN_MAX_AGE_S": 1800.0,  # how recent that crew's scan of the unit's tag must be
    "ARRIVAL_POSITION_MAX_AGE_S": 120.0,  # a stored crew position older than this is no proof of arrival
    "LOGIN_RATE_LIMIT": "20/60",
    "LOGIN_LOCKOUT_AFTER": 5,  # failures per (username, client) before the back-off starts
    "LOGIN_BACKOFF_BASE_S": 30,  # first wait; doubles with each further failure
    "LOGIN_LOCKOUT_S": 900,  # longest wait
    "LOGIN_THROTTLE_RESET_S": 86400,  # failures older than this are forgotten
    "TOKEN_TTL_S": 12 * 3600,
    "TOKEN_TTL_DESK_S": 4 * 3600,  # admin and dispatcher tokens: the most powerful, the shortest-lived
    "SESSION_TTL_S": 12 * 3600,  # a page login lasts a shift
    # werkzeug's hash method; weaker than the default only under TESTING (a user costs 165 ms of scrypt otherwise)
    "PASSWORD_HASH_METHOD": "scrypt:32768:8:1",
    "HOTLINE": "96333",
    "TILE_URL": "",
    # district outlines drawn when no TILE_URL is set (GeoJSON, same origin); the bundled one is the demo city's
    "MAP_OUTLINES": "/static/emergency/districts-350100.geojson",
    "TIMEZONE": "Asia/Shanghai",
    "PROXY_HOPS": 0,  # trusted reverse proxies in front of the web processes (X-Forwarded-For/-Proto)
    "WEBHOOK_ALLOW_PRIVATE": False,  # reminder webhooks to loopback/private addresses (core/outbound.py)
    "METRICS_TOKEN": "",  # bearer token for /metrics; unset: loopback and private networks only
    # bytes per request body (413 beyond): small for JSON and forms, the large one only on views marked
    # input_guard.large_body (registry imports); bigger registries import by CLI
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "STREAM_MAX": 256,  # live SSE streams per web process (each holds a thread; `equipment web` sizes it)
    "UPLOAD_MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
    "TERMINAL_STATE_BUDGET": "20/100",  # per terminal: states+online a second / burst (over: rate_limited)
    "TERMINAL_EVENT_BUDGET": "20/300",  # per terminal: events a second / burst (telemetry/budget.py)
    "TERMINALS_PER_UNIT": 2,  # active terminals one unit may have (409 on provisioning beyond)
}
FLOATS = {"TRAPPED_AFTER_S", "STOP_OUTSIDE_ZONE_AFTER_S", "OFFLINE_AFTER_S", "ACCEPT_DEADLINE_S",
          "ARRIVAL_DEADLINE_S", "LEVEL2_RADIUS_M", "LEVEL2_AFTER_S", "ARRIVAL_GEOFENCE_M",
          "ARRIVAL_SCAN_MAX_AGE_S", "ARRIVAL_POSITION_MAX_AGE_S"}
INTS = {"DISPATCH_PARALLEL", "LOGIN_LOCKOUT_AFTER", "LOGIN_BACKOFF_BASE_S", "LOGIN_LOCKOUT_S",
        "LOGIN_THROTTLE_RESET_S", "TOKEN_TTL_S", "TOKEN_TTL_DESK_S", "SESSION_TTL_S", "PROXY_HOPS",
        "MAX_CONTENT_LENGTH", "UPLOAD_MAX_CONTENT_LENGTH", "TERMINALS_PER_UNIT", "STREAM_MAX"}
BOOLS = {"WEBHOOK_ALLOW_PRIVATE", "PUBLIC_UNVERIFIED_TO_OWN_CREW"}


def instance_dir() -> Path:
    path = Path(os.environ.get("EQUIPMENT_INSTANCE_DIR", "instance")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _secret_key(inst: Path) -> str:
    """A dev install gets a random key persisted beside its database, never a fixed default."""
    if os.environ.get("EQUIPMENT_SECRET_KEY"):
        return os.environ["EQUIPMENT_SECRET_KEY"]
    key_file = inst / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def load_config(overrides: dict | None = None) -> dict:
    inst = instance_dir()
    cfg: dict = {}
    for name, default in DEFAULTS.items():
        raw = os.environ.get(f"EQUIPMENT_{name}")
        if raw is None:
            cfg[name] = default
        elif name in FLOATS:
            cfg[name] = float(raw)
        elif name in INTS:
            cfg[name] = int(raw)
        elif name in BOOLS:
            cfg[name] = raw.strip().lower() in ("1", "true", "yes", "on")
        else:
            cfg[name] = raw
    cfg["INSTANCE_DIR"] = str(inst)
    cfg["SQLALCHEMY_DATABASE_URI"] = os.environ.get(
        "EQUIPMENT_DATABASE_URL", f"sqlite:///{inst / 'equipment.db'}")
    cfg["MQTT_URL"] = os.environ.get("EQUIPMENT_MQTT_URL") or None
    cfg["SECRET_KEY"] = _secret_key(inst)
    # signs the history chain (docs/trace.md); unset: derived from SECRET_KEY under its own label
    cfg["CHAIN_KEY"] = os.environ.get("EQUIPMENT_CHAIN_KEY") or ""
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    cfg["SESSION_COOKIE_SAMESITE"] = "Lax"
    cfg["JSON_SORT_KEYS"] = False
    cfg.update(_openapi_settings())
    cfg.update(overrides or {})
    _refuse_weak_hashing(cfg)
    # served over https (the address in the QR codes says so): cookies only over https, and HSTS
    cfg.setdefault("SESSION_COOKIE_SECURE", cfg["PUBLIC_BASE_URL"].startswith("https://"))
    return cfg


def _refuse_weak_hashing(cfg: dict) -> None:
    """Only scrypt (N >= 2^15) or pbkdf2 (>= 600,000 iterations, OWASP's figure for SHA-256) outside tests."""
    if cfg.get("TESTING"):
        return
    method, *params = str(cfg["PASSWORD_HASH_METHOD"]).split(":")
    try:
        strong = (method == "scrypt" and int(params[0]) >= 2 ** 15) or \
                 (method == "pbkdf2" and params[0] in ("sha256", "sha512") and int(params[1]) >= 600_000)
    except (IndexError, ValueError):
        strong = False
    if not strong:
        raise RuntimeError(f"EQUIPMENT_PASSWORD_HASH_METHOD={cfg['PASSWORD_HASH_METHOD']!r} is weaker than "
                           "scrypt:32768:8:1 or pbkdf2:sha256:600000; refused outside tests")


def _openapi_settings() -> dict:
    return {
        "API_TITLE": "Special equipment platform",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        # Served by our own route from the swagger-ui-bundle package: no CDN.
        "OPENAPI_SWAGGER_UI_URL": "/api/v1/docs-assets/",
    }
