"""Every domain's models, so the metadata (and Alembic) sees all tables."""
from equipment.core.audit import AuditLog  # noqa: F401
from equipment.core.jobs import JobStatus  # noqa: F401
from equipment.auth.models import ApiToken, User  # noqa: F401
from equipment.registry.models import Category, Component, Equipment, HistoryEvent, Organization, QrTag  # noqa: F401
from equipment.emergency.models import CrewMember, Dispatch, Incident, IncidentEvent, Notification  # noqa: F401
from equipment.inspections.models import (Defect, FillingRecord, Inspection, MaintenanceRecord, Obligation, ReminderContact, Reminder, RuleSet, SpotCheckAssignment, SpotCheckDraw)  # noqa: F401,E501
from equipment.telemetry.models import Alarm, LatestState, RejectCount, TelemetryEvent, TelemetryState, Terminal  # noqa: F401
