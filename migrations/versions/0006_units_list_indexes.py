"""units list: an index for sorting the registry list by address

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 06:20:00

/units sorts by id, next inspection due (indexed), status (indexed) or address; a deep page sorted by address
otherwise sorts every unit (bench/bench_units_list.py, 100,000 units on PostgreSQL).
"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_equipment_address', 'equipment', ['address'], unique=False)


def downgrade():
    op.drop_index('ix_equipment_address', table_name='equipment')
