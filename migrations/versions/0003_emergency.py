"""emergency: crews, incidents, timeline, dispatches, notification outbox

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

from equipment.core.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OPEN = sa.text("status IN ('reported', 'dispatched', 'accepted', 'on_site', 'released')")


def _dt(name, nullable=True):
    return sa.Column(name, UTCDateTime(timezone=True), nullable=nullable)


def upgrade():
    op.create_geospatial_table(
        "crew_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(120), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("email", sa.String(200), nullable=True),
        sa.Column("on_duty", sa.Boolean(), nullable=False),
        sa.Column("location", Geometry(geometry_type="POINT", srid=4326, dimension=2, spatial_index=False,
                                       from_text="ST_GeomFromEWKT", name="geometry"), nullable=True),
        _dt("position_at"), _dt("updated_at", False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_crew_members_user_id_users")),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], name=op.f("fk_crew_members_org_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crew_members")),
        sa.UniqueConstraint("user_id", name=op.f("uq_crew_members_user_id")),
    )
    with op.batch_alter_table("crew_members", schema=None) as batch_op:
        batch_op.create_geospatial_index("idx_crew_members_location", ["location"], unique=False,
                                         postgresql_using="gist", postgresql_ops={})
        batch_op.create_index(batch_op.f("ix_crew_members_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_crew_members_on_duty"), ["on_duty"], unique=False)

    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("equipment_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("caller_phone", sa.String(32), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("maintenance_org_id", sa.Integer(), nullable=True),
        sa.Column("district_code", sa.String(6), nullable=True),
        sa.Column("address", sa.String(300), nullable=True),
        _dt("reported_at", False), _dt("dispatched_at"), _dt("accepted_at"), _dt("arrived_at"),
        _dt("released_at"), _dt("closed_at"),
        sa.Column("cause", sa.String(24), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        _dt("arrival_deadline"),
        sa.Column("arrival_overdue", sa.Boolean(), nullable=False),
        sa.Column("crew_id", sa.Integer(), nullable=True),
        _dt("fire_notified_at"),
        sa.Column("signals", sa.Integer(), nullable=False),
        _dt("updated_at", False),
        sa.ForeignKeyConstraint(["equipment_id"], ["equipment.id"], name=op.f("fk_incidents_equipment_id_equipment")),
        sa.ForeignKeyConstraint(["crew_id"], ["crew_members.id"], name=op.f("fk_incidents_crew_id_crew_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        for col in ("equipment_id", "status", "maintenance_org_id", "district_code", "reported_at",
                    "arrival_deadline", "crew_id"):
            batch_op.create_index(batch_op.f(f"ix_incidents_{col}"), [col], unique=False)
    # One open incident per unit, enforced by the database so concurrent signals cannot open two.
    op.create_index("uq_incidents_open_unit", "incidents", ["equipment_id"], unique=True,
                    postgresql_where=OPEN, sqlite_where=OPEN)

    op.create_table(
        "incident_events",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        _dt("at", False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("actor_name", sa.String(80), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_org_id", sa.Integer(), nullable=True),
        sa.Column("data", JSON, nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE",
                                name=op.f("fk_incident_events_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_events")),
    )
    op.create_index(op.f("ix_incident_events_incident_id"), "incident_events", ["incident_id"])

    op.create_table(
        "dispatches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("crew_id", sa.Integer(), nullable=True),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=True),
        _dt("offered_at", False), _dt("accept_deadline"), _dt("responded_at"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE",
                                name=op.f("fk_dispatches_incident_id_incidents")),
        sa.ForeignKeyConstraint(["crew_id"], ["crew_members.id"], name=op.f("fk_dispatches_crew_id_crew_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatches")),
    )
    for col in ("incident_id", "crew_id", "status", "accept_deadline"):
        op.create_index(op.f(f"ix_dispatches_{col}"), "dispatches", [col])

    op.create_table(
        "notifications",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("recipient", JSON, nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("channel", sa.String(16), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _dt("next_attempt_at", False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("log", JSON, nullable=False),
        _dt("created_at", False), _dt("sent_at"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE",
                                name=op.f("fk_notifications_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    for col in ("incident_id", "status", "next_attempt_at"):
        op.create_index(op.f(f"ix_notifications_{col}"), "notifications", [col])


def downgrade():
    op.drop_table("notifications")
    op.drop_table("dispatches")
    op.drop_table("incident_events")
    op.drop_index("uq_incidents_open_unit", table_name="incidents")
    op.drop_table("incidents")
    with op.batch_alter_table("crew_members", schema=None) as batch_op:
        batch_op.drop_geospatial_index("idx_crew_members_location", postgresql_using="gist",
                                       column_name="location")
    op.drop_geospatial_table("crew_members")
