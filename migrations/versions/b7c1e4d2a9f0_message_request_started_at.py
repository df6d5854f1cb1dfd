"""message.request_started_at and journal: whether a sending row's request may have
left, and its outcome until written

Revision ID: b7c1e4d2a9f0
Revises: 0331743c985c
Create Date: 2026-11-25 04:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7c1e4d2a9f0'
down_revision = '0331743c985c'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_started_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('journal', sa.Text(), nullable=True))
    # Rows a dispatcher of the previous version left sending may have been sent:
    # recovery must make them unknown, not send them again.
    op.execute("UPDATE message SET request_started_at = updated_at WHERE state = 'sending'")


def downgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_column('journal')
        batch_op.drop_column('request_started_at')
