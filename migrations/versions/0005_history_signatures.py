"""history chain signatures: an HMAC per record with a key the database does not hold

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 06:00:00

Records written before this revision keep mac NULL; `equipment trace anchor` signs each such chain once with an
'anchor' record (docs/trace.md), and `trace verify` says so until then.
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('history_events', sa.Column('mac', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('history_events', schema=None) as batch_op:
        batch_op.drop_column('mac')
