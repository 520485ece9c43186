"""Special-equipment traceability and emergency platform.

create_app and its helpers import the app's pieces inside the functions, on purpose: every
`import equipment.<anything>` runs this file first, so module-level imports here would load every domain for
any import (and equipment.cli, which imports create_app, would import itself in a circle).
"""
from __future__ import annotations

from flask import Flask


def create_app(overrides: dict | None = None) -> Flask:
    from equipment.config import load_config
    from equipment.core.db import sqlite_engine_options

    from equipment.core.fields import BoundedIntConverter

    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    app.url_map.converters["int"] = BoundedIntConverter
    app.config.update(load_config(overrides))
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS",
                          sqlite_engine_options(app.config["SQLALCHEMY_DATABASE_URI"]))
    register_extensions(app)
    register_request_hooks(app)
    register_domains(app)
    register_cli(app)
    register_fast_paths(app)
    register_proxy(app)
    return app


def register_fast_paths(app: Flask) -> None:
    from equipment.registry import public_fast
    public_fast.install(app)


def register_proxy(app: Flask) -> None:
    """Behind a load balancer every request comes from its address: rate limits would pool all clients
    (and the audit would name the balancer) unless the trusted hops' X-Forwarded-For is read."""
    hops = int(app.config.get("PROXY_HOPS") or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def register_extensions(app: Flask) -> None:
    from equipment.core import audit, db as core_db, errors
    from equipment.extensions import api, db, migrate
    from equipment.web import error_text, i18n
    import equipment.models  # noqa: F401  every domain's tables on the metadata

    db.init_app(app)
    core_db.init_app(app)
    audit.init_session_hooks()
    migrate.init_app(app, db, directory=str(_migrations_dir()), render_as_batch=True)
    api.init_app(app)
    errors.init_app(app)  # after the Api, so our envelope wins over flask-smorest's
    i18n.init_app(app)
    error_text.init_app(app)


def register_request_hooks(app: Flask) -> None:
    from equipment.auth.service import load_request_actor
    from equipment.core import csrf, input_guard, security_headers
    from equipment.core.sessions import LazyCookieSessionInterface

    from equipment.web import metrics

    app.before_request(metrics.start_timer)
    app.after_request(metrics.observe)
    app.before_request(input_guard.body_limit)  # before anything reads the body
    app.before_request(input_guard.reject_bad_text)
    app.before_request(load_request_actor)
    app.before_request(csrf.protect)
    app.after_request(security_headers.apply)
    app.jinja_env.globals["csrf_token"] = csrf.csrf_token
    app.session_interface = LazyCookieSessionInterface()


def register_domains(app: Flask) -> None:
    """Every domain of equipment/domains.py: its API and page blueprints, commands, strings and setup hook.
    Its jobs and background work are read from the same list by the jobs runner and `serve`."""
    from equipment.core.domain import EXTENSION
    from equipment.domains import ALL
    from equipment.extensions import api
    from equipment.web import i18n

    app.extensions[EXTENSION] = ALL
    for domain in ALL:
        for blp in domain.api_blueprints:
            api.register_blueprint(blp)
        for bp in domain.page_blueprints:
            app.register_blueprint(bp)
        for group in domain.cli_groups:
            app.cli.add_command(group)
        i18n.add_text(domain.text)
        if domain.setup is not None:
            domain.setup(app)


def register_cli(app: Flask) -> None:
    from equipment import cli
    cli.register(app)


def _migrations_dir():
    from pathlib import Path
    return Path(__file__).resolve().parent.parent / "migrations"
