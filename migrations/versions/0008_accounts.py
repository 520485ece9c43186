"""accounts: credentials version, per-credential kind, login back-off per client; alarm clear reason

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 05:40:00

"""
from alembic import op
import sqlalchemy as sa

import equipment.core.models

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_throttle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('blocked_until', equipment.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_failure_at', equipment.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_throttle')),
    sa.UniqueConstraint('username', 'client', name=op.f('uq_login_throttle_username'))
    )
    with op.batch_alter_table('login_throttle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_throttle_last_failure_at'), ['last_failure_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_throttle_username'), ['username'], unique=False)

    # recreate="never": SQLite drops and adds these columns in place (a table copy of users would
    # cascade-delete the rows that reference it).
    with op.batch_alter_table('users', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('credentials_version', sa.Integer(), server_default='1', nullable=False))
        batch_op.drop_column('failed_logins')
        batch_op.drop_column('locked_until')

    with op.batch_alter_table('api_tokens', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), server_default='api', nullable=False))
        batch_op.add_column(sa.Column('credentials_version', sa.Integer(), server_default='1', nullable=False))

    with op.batch_alter_table('alarms', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('clear_reason', sa.String(length=500), nullable=True))


def downgrade():
    with op.batch_alter_table('alarms', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('clear_reason')
    with op.batch_alter_table('api_tokens', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('credentials_version')
        batch_op.drop_column('kind')
    with op.batch_alter_table('users', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('locked_until', equipment.core.models.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
        batch_op.drop_column('credentials_version')
    with op.batch_alter_table('login_throttle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_throttle_username'))
        batch_op.drop_index(batch_op.f('ix_login_throttle_last_failure_at'))
    op.drop_table('login_throttle')
