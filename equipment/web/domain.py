"""Shared pages: home, health, readiness, metrics, API docs assets."""
from equipment.core.domain import Domain
from equipment.web import views

DOMAIN = Domain(name="web", page_blueprints=(views.bp,))
