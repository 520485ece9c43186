"""What a domain plugs into the platform, declared once per domain (`<domain>/domain.py`).

`equipment/domains.py` lists the domains; `create_app` registers them (`equipment.register_domains`), and the
CLI, `serve` and the jobs runner read the same list from the app. A new domain writes its `domain.py` and adds one line there: nothing else.
Declaring a Domain does no work: blueprints and commands are objects, and `setup` runs at `init_app`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from flask import Flask, current_app

EXTENSION = "equipment.domains"


@dataclass(frozen=True)
class Domain:
    name: str
    models: object = None  # the module declaring the domain's tables (imported: Alembic sees them)
    api_blueprints: Sequence = ()  # flask-smorest Blueprints, under /api/v1
    page_blueprints: Sequence = ()  # plain Flask Blueprints: pages
    cli_groups: Sequence = ()  # click commands or groups added to `equipment`
    jobs: Sequence = ()  # core.jobs.JobSpec: run by the jobs leader
    text: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # i18n keys: (zh-CN, en)
    # start(app) -> stop(): background work `equipment serve` runs beside the web server
    background: Callable | None = None
    # setup(app): anything else bound to the app (panels on the unit page, scan-page actions)
    setup: Callable[[Flask], None] | None = None
    # demo_seed(orgs=, rng=): the domain's part of `equipment demo`'s city (crews, due dates...)
    demo_seed: Callable | None = None
    # readiness: {name: check() -> "ok" | "not configured" | "error: ..."} reported by /readyz
    readiness: Mapping[str, Callable[[], str]] = field(default_factory=dict)


def domains_of(app: Flask | None = None) -> tuple[Domain, ...]:
    return (app or current_app).extensions.get(EXTENSION, ())


def job_specs(app: Flask | None = None) -> list:
    return [spec for domain in domains_of(app) for spec in domain.jobs]


def background_starters(app: Flask | None = None) -> list[Callable]:
    return [domain.background for domain in domains_of(app) if domain.background is not None]
