"""designer: draft lock version and publish approval

Revision ID: b7e2c91d4a10
Revises: 4d3454558736
Create Date: 2026-11-29 20:45:00

"""
from alembic import op
import sqlalchemy as sa

import survey.orm


revision = 'b7e2c91d4a10'
down_revision = '4d3454558736'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('survey_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lock_version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('publish_requested_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('publish_requested_at', survey.orm.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_survey_version_publish_requested_by_id_user_account'),
            'user_account', ['publish_requested_by_id'], ['id'],
        )


def downgrade():
    with op.batch_alter_table('survey_version', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_survey_version_publish_requested_by_id_user_account'), type_='foreignkey'
        )
        batch_op.drop_column('publish_requested_at')
        batch_op.drop_column('publish_requested_by_id')
        batch_op.drop_column('lock_version')
