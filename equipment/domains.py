"""The one list of domains. A new domain writes `<domain>/domain.py` and adds one line here.

Order is the layering (docs/architecture.md): lower layers first, so their blueprints, commands and jobs
register before the domains that build on them.
"""
from equipment.auth.domain import DOMAIN as auth
from equipment.emergency.domain import DOMAIN as emergency
from equipment.inspections.domain import DOMAIN as inspections
from equipment.registry.domain import DOMAIN as registry
from equipment.telemetry.domain import DOMAIN as telemetry
from equipment.web.domain import DOMAIN as web
from equipment.workspace.domain import DOMAIN as workspace

ALL = (auth, registry, telemetry, inspections, emergency, web, workspace)
