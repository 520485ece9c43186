"""Blueprints of every domain, registered by create_app."""


def api_blueprints():
    from equipment.auth import views as auth
    from equipment.registry import views as registry
    from equipment.telemetry import views as telemetry
    from equipment.inspections import views as inspections
    from equipment.emergency import views as emergency
    return [auth.blp, auth.users_blp, *registry.api_blueprints, *telemetry.api_blueprints,
            *inspections.api_blueprints, *emergency.api_blueprints]


def page_blueprints():
    from equipment.auth import views as auth
    from equipment.registry import pages as registry_pages
    from equipment.web import views as web
    from equipment.emergency import pages as emergency_pages
    from equipment.telemetry import pages as telemetry_pages
    from equipment.inspections import pages as inspection_pages
    return [web.bp, auth.pages, registry_pages.bp, *emergency_pages.page_blueprints, telemetry_pages.bp,
            inspection_pages.bp]
