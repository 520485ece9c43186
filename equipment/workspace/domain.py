"""The workspace: pages that compose the domains for signed-in users (navigation, home, lists, dossier).
Last in the layering: it reads every domain, none reads it."""
from equipment.core.domain import Domain
from equipment.workspace import dossier, pages, rules_pages, rules_text, units  # noqa: F401  (they add routes to pages.bp)

DOMAIN = Domain(name="workspace", page_blueprints=(pages.bp,), text=rules_text.TEXT)
