"""Every table on the metadata (Alembic reads it): the core's, and each domain's through its Domain."""
from equipment.core.audit import AuditLog  # noqa: F401
from equipment.core.jobs import JobStatus  # noqa: F401
from equipment.domains import ALL as DOMAINS  # noqa: F401  each Domain names its models module
from equipment.core.shared_limit import RateHit  # noqa: F401
