"""key pairs

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('key_pairs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('key_type', sa.String(length=16), nullable=False),
    sa.Column('fingerprint', sa.String(length=128), nullable=False),
    sa.Column('public_key', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'name', name='uq_key_pairs_account_name')
    )
    with op.batch_alter_table('key_pairs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_key_pairs_account_id'), ['account_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('key_pairs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_key_pairs_account_id'))

    op.drop_table('key_pairs')
