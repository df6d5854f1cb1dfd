"""The interface language a user chose (the language switch).

Revision ID: 8c1d7a4e2f10
Revises: b7c1e4d2a9f0
Create Date: 2026-11-25 04:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '8c1d7a4e2f10'
down_revision = 'b7c1e4d2a9f0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=5), nullable=True))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('language')
