"""public reports, unverified incidents, shared rate counters

Scan-page reports with tracking numbers (routed by family), incidents.verified (a public report waits for
the desk's confirmation before 119 or another company's crew), the crew's false-alarm claim, and the
database-backed rate counters every web process shares.

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

import equipment.core.models

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verified', sa.Boolean(), server_default=sa.text('true'), nullable=False))
        batch_op.add_column(sa.Column('verified_at', equipment.core.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('verify_method', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('false_alarm_claimed_at', equipment.core.models.UTCDateTime(timezone=True),
                                      nullable=True))
    op.create_table('public_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tracking_no', sa.String(length=20), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=False),
    sa.Column('family', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('problem', sa.String(length=16), nullable=True),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('reply_phone', sa.String(length=32), nullable=True),
    sa.Column('client_hash', sa.String(length=64), nullable=False),
    sa.Column('over_limit', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('route_org_id', sa.Integer(), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=True),
    sa.Column('created_at', equipment.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_public_reports_equipment_id_equipment')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_public_reports_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_reports')),
    sa.UniqueConstraint('tracking_no', name=op.f('uq_public_reports_tracking_no'))
    )
    with op.batch_alter_table('public_reports', schema=None) as batch_op:
        for col in ('equipment_id', 'client_hash', 'status', 'incident_id', 'route_org_id', 'district_code',
                    'created_at'):
            batch_op.create_index(batch_op.f(f'ix_public_reports_{col}'), [col], unique=False)
    op.create_table('rate_hits',
    sa.Column('bucket', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('window_start', sa.BigInteger(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('expires_at', equipment.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('bucket', 'key', 'window_start', name=op.f('pk_rate_hits'))
    )
    with op.batch_alter_table('rate_hits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_hits_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('rate_hits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_hits_expires_at'))
    op.drop_table('rate_hits')
    with op.batch_alter_table('public_reports', schema=None) as batch_op:
        for col in ('equipment_id', 'client_hash', 'status', 'incident_id', 'route_org_id', 'district_code',
                    'created_at'):
            batch_op.drop_index(batch_op.f(f'ix_public_reports_{col}'))
    op.drop_table('public_reports')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('false_alarm_claimed_at')
        batch_op.drop_column('verify_method')
        batch_op.drop_column('verified_at')
        batch_op.drop_column('verified')
