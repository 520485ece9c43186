"""The workspace: pages that compose the domains for signed-in users (navigation, home, lists, dossier).
Last in the layering: it reads every domain, none reads it."""
from equipment.core.domain import Domain
from equipment.workspace import dossier, pages, units  # noqa: F401  (dossier and units add routes to pages.bp)

DOMAIN = Domain(name="workspace", page_blueprints=(pages.bp,))
