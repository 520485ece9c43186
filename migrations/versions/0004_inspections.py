"""inspections

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:41:17.690815

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy import Text

import equipment.core.models
from equipment.inspections.rules import seed_rules

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('inspection_rule_sets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('rules', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', equipment.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_rule_sets')),
    sa.UniqueConstraint('version', name=op.f('uq_inspection_rule_sets_version'))
    )
    op.create_table('spot_check_draws',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('filters', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('sample_size', sa.Integer(), nullable=False),
    sa.Column('inspector_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('candidate_count', sa.Integer(), nullable=False),
    sa.Column('candidate_digest', sa.String(length=64), nullable=False),
    sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', equipment.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spot_check_draws'))
    )
    op.create_table('reminder_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_reminder_contacts_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_contacts')),
    sa.UniqueConstraint('org_id', 'channel', 'address', name='uq_reminder_contacts_target')
    )
    with op.batch_alter_table('reminder_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminder_contacts_org_id'), ['org_id'], unique=False)

    op.create_table('filling_records',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=False),
    sa.Column('station_org_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('at', equipment.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('gas', sa.String(length=64), nullable=True),
    sa.Column('mass_kg', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_filling_records_equipment_id_equipment')),
    sa.ForeignKeyConstraint(['station_org_id'], ['organizations.id'], name=op.f('fk_filling_records_station_org_id_organizations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_filling_records_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_filling_records'))
    )
    with op.batch_alter_table('filling_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_filling_records_equipment_id'), ['equipment_id'], unique=False)

    op.create_table('inspections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('conclusion', sa.String(length=24), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('safety_grade', sa.Integer(), nullable=True),
    sa.Column('grade3_months', sa.Integer(), nullable=True),
    sa.Column('report_no', sa.String(length=64), nullable=True),
    sa.Column('follows_id', sa.Integer(), nullable=True),
    sa.Column('spot_assignment_id', sa.Integer(), nullable=True),
    sa.Column('inspector_user_id', sa.Integer(), nullable=True),
    sa.Column('agency_org_id', sa.Integer(), nullable=True),
    sa.Column('items', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('next_due', sa.Date(), nullable=True),
    sa.Column('created_at', equipment.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_org_id'], ['organizations.id'], name=op.f('fk_inspections_agency_org_id_organizations')),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_inspections_equipment_id_equipment')),
    sa.ForeignKeyConstraint(['follows_id'], ['inspections.id'], name=op.f('fk_inspections_follows_id_inspections')),
    sa.ForeignKeyConstraint(['inspector_user_id'], ['users.id'], name=op.f('fk_inspections_inspector_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspections')),
    sa.UniqueConstraint('report_no', name=op.f('uq_inspections_report_no'))
    )
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspections_equipment_id'), ['equipment_id'], unique=False)

    op.create_table('maintenance_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=False),
    sa.Column('crew_user_id', sa.Integer(), nullable=True),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('item_set', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('started_at', equipment.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', equipment.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('scan_tag', sa.String(length=64), nullable=True),
    sa.Column('scan_lat', sa.Float(), nullable=True),
    sa.Column('scan_lon', sa.Float(), nullable=True),
    sa.Column('scan_distance_m', sa.Float(), nullable=True),
    sa.Column('items', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('photos', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('flags', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['crew_user_id'], ['users.id'], name=op.f('fk_maintenance_records_crew_user_id_users')),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_maintenance_records_equipment_id_equipment')),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_maintenance_records_org_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_records'))
    )
    with op.batch_alter_table('maintenance_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_maintenance_records_crew_user_id'), ['crew_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_maintenance_records_equipment_id'), ['equipment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_maintenance_records_flagged'), ['flagged'], unique=False)

    op.create_table('obligations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('rule_key', sa.String(length=64), nullable=True),
    sa.Column('rule_version', sa.Integer(), nullable=False),
    sa.Column('variant', sa.String(length=16), nullable=True),
    sa.Column('anchor', sa.Date(), nullable=True),
    sa.Column('last_done', sa.Date(), nullable=True),
    sa.Column('next_due', sa.Date(), nullable=True),
    sa.Column('life_end', sa.Date(), nullable=True),
    sa.Column('allowed', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('responsible_org_id', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', equipment.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_obligations_equipment_id_equipment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['responsible_org_id'], ['organizations.id'], name=op.f('fk_obligations_responsible_org_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_obligations')),
    sa.UniqueConstraint('equipment_id', 'kind', name='uq_obligations_equipment_kind')
    )
    with op.batch_alter_table('obligations', schema=None) as batch_op:
        batch_op.create_index('ix_obligations_next_due', ['next_due'], unique=False)
        batch_op.create_index(batch_op.f('ix_obligations_responsible_org_id'), ['responsible_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_obligations_rule_key'), ['rule_key'], unique=False)
        batch_op.create_index('ix_obligations_status_next_due', ['status', 'next_due'], unique=False)

    op.create_table('reminders',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=False),
    sa.Column('obligation_kind', sa.String(length=16), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('offset_days', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sa.String(length=80), nullable=True),
    sa.Column('claimed_at', equipment.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', equipment.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', equipment.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['reminder_contacts.id'], name=op.f('fk_reminders_contact_id_reminder_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_reminders_equipment_id_equipment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminders')),
    sa.UniqueConstraint('equipment_id', 'obligation_kind', 'due_date', 'offset_days', 'contact_id', name='uq_reminders_delivery')
    )
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.create_index('ix_reminders_status', ['status'], unique=False)

    op.create_table('spot_check_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draw_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=False),
    sa.Column('inspector_user_id', sa.Integer(), nullable=True),
    sa.Column('agency_org_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['agency_org_id'], ['organizations.id'], name=op.f('fk_spot_check_assignments_agency_org_id_organizations')),
    sa.ForeignKeyConstraint(['draw_id'], ['spot_check_draws.id'], name=op.f('fk_spot_check_assignments_draw_id_spot_check_draws'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_spot_check_assignments_equipment_id_equipment')),
    sa.ForeignKeyConstraint(['inspector_user_id'], ['users.id'], name=op.f('fk_spot_check_assignments_inspector_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spot_check_assignments'))
    )
    with op.batch_alter_table('spot_check_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spot_check_assignments_agency_org_id'), ['agency_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_spot_check_assignments_draw_id'), ['draw_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_spot_check_assignments_equipment_id'), ['equipment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_spot_check_assignments_inspector_user_id'), ['inspector_user_id'], unique=False)

    op.create_table('inspection_defects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=False),
    sa.Column('item', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('rectified_at', equipment.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_inspection_defects_equipment_id_equipment')),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_inspection_defects_inspection_id_inspections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_defects'))
    )
    with op.batch_alter_table('inspection_defects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_defects_equipment_id'), ['equipment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspection_defects_inspection_id'), ['inspection_id'], unique=False)
    seed_rules(op)


def downgrade():
    op.drop_table('inspection_defects')
    op.drop_table('spot_check_assignments')
    op.drop_table('reminders')
    op.drop_table('obligations')
    op.drop_table('maintenance_records')
    op.drop_table('inspections')
    op.drop_table('filling_records')
    op.drop_table('reminder_contacts')
    op.drop_table('spot_check_draws')
    op.drop_table('inspection_rule_sets')
