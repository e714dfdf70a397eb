"""admin: agents named in zh and en; background import jobs

Revision ID: e4f2a9c61d07
Revises: c3a1f0e2d5b8
Create Date: 2026-11-30 09:10:00

"""
from alembic import op
import sqlalchemy as sa

import survey.orm


# revision identifiers, used by Alembic.
revision = 'e4f2a9c61d07'
down_revision = 'c3a1f0e2d5b8'
branch_labels = None
depends_on = None


def upgrade():
    # The one name an agent had becomes both names; the admin can correct either later.
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_zh', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('name_en', sa.String(length=120), nullable=True))
    op.execute("UPDATE agent SET name_zh = name, name_en = name")
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.alter_column('name_zh', existing_type=sa.String(length=120), nullable=False)
        batch_op.alter_column('name_en', existing_type=sa.String(length=120), nullable=False)
        batch_op.drop_column('name')

    op.create_table('import_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('done_rows', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('failure', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', survey.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', survey.orm.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('agents')", name=op.f('ck_import_job_kind')),
    sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_import_job_state')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_import_job_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_job'))
    )
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_job_created_at'), ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_job_created_at'))
    op.drop_table('import_job')

    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=120), nullable=True))
    op.execute("UPDATE agent SET name = CASE WHEN name_zh <> '' THEN name_zh ELSE name_en END")
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.alter_column('name', existing_type=sa.String(length=120), nullable=False)
        batch_op.drop_column('name_en')
        batch_op.drop_column('name_zh')
