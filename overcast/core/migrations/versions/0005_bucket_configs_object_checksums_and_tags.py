"""bucket configs, object checksums and tags

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('bucket_configs',
    sa.Column('bucket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bucket_id'], ['buckets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('bucket_id', 'kind')
    )
    with op.batch_alter_table('objects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checksum_algorithm', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('checksum_value', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('tags_json', sa.Text(), nullable=True))




def downgrade() -> None:

    with op.batch_alter_table('objects', schema=None) as batch_op:
        batch_op.drop_column('tags_json')
        batch_op.drop_column('checksum_value')
        batch_op.drop_column('checksum_algorithm')

    op.drop_table('bucket_configs')

