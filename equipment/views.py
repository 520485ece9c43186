"""Blueprints of every domain, registered by create_app."""


def api_blueprints():
    from equipment.auth import views as auth
    from equipment.registry import views as registry
    from equipment.telemetry import views as telemetry
    from equipment.inspections import views as inspections
    return [auth.blp, auth.users_blp, *registry.api_blueprints, *telemetry.api_blueprints,
            *inspections.api_blueprints]


def page_blueprints():
    from equipment.auth import views as auth
    from equipment.registry import pages as registry_pages
    from equipment.web import views as web
    return [web.bp, auth.pages, registry_pages.bp]
