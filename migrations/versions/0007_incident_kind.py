"""incidents.kind (rescue 困人 | fault 故障) and fault_code; one open incident per (unit, kind)

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

OPEN = sa.text("status IN ('reported', 'dispatched', 'accepted', 'on_site', 'released')")


def upgrade():
    # Every incident so far was a rescue: the server default fills existing rows.
    op.add_column("incidents", sa.Column("kind", sa.String(8), nullable=False, server_default="rescue"))
    op.add_column("incidents", sa.Column("fault_code", sa.String(8), nullable=True))
    op.drop_index("uq_incidents_open_unit", table_name="incidents")
    op.create_index("uq_incidents_open_unit_kind", "incidents", ["equipment_id", "kind"], unique=True,
                    postgresql_where=OPEN, sqlite_where=OPEN)


def downgrade():
    # Refused by the database while a unit has an open rescue and an open fault notice at once.
    op.drop_index("uq_incidents_open_unit_kind", table_name="incidents")
    op.create_index("uq_incidents_open_unit", "incidents", ["equipment_id"], unique=True,
                    postgresql_where=OPEN, sqlite_where=OPEN)
    with op.batch_alter_table("incidents") as batch_op:
        batch_op.drop_column("fault_code")
        batch_op.drop_column("kind")
