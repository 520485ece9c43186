"""dispatch rules table: which crew-choice policy runs live

A regulator's decision (issue 14), versioned like the inspections rules; empty means the app setting
EQUIPMENT_DISPATCH_POLICY (the legal ladder by default).

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import equipment.core.models

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('dispatch_rule_sets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('rules', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', equipment.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispatch_rule_sets')),
    sa.UniqueConstraint('version', name=op.f('uq_dispatch_rule_sets_version'))
    )


def downgrade():
    op.drop_table('dispatch_rule_sets')
