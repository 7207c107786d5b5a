"""multipart uploads and multipart objects

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_KEY = sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('objects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parts_count', sa.Integer(), nullable=True))

    op.create_table('object_parts',
    sa.Column('manifest', sa.String(length=64), nullable=False),
    sa.Column('part_number', sa.Integer(), nullable=False),
    sa.Column('data_name', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('md5', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('manifest', 'part_number'),
    sa.UniqueConstraint('data_name')
    )
    op.create_table('multipart_uploads',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('bucket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', _KEY, nullable=False),
    sa.Column('initiator_arn', sa.String(length=512), nullable=False),
    sa.Column('content_type', sa.String(length=256), nullable=False),
    sa.Column('headers_json', sa.Text(), nullable=False),
    sa.Column('metadata_json', sa.Text(), nullable=False),
    sa.Column('initiated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bucket_id'], ['buckets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_multipart_uploads_bucket_key', 'multipart_uploads', ['bucket_id', 'key', 'id'], unique=False)
    op.create_table('uploaded_parts',
    sa.Column('upload_id', sa.String(length=64), nullable=False),
    sa.Column('part_number', sa.Integer(), nullable=False),
    sa.Column('data_name', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('md5', sa.String(length=32), nullable=False),
    sa.Column('last_modified', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['upload_id'], ['multipart_uploads.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('upload_id', 'part_number'),
    sa.UniqueConstraint('data_name')
    )


def downgrade() -> None:
    op.drop_table('uploaded_parts')
    op.drop_index('ix_multipart_uploads_bucket_key', table_name='multipart_uploads')
    op.drop_table('multipart_uploads')
    op.drop_table('object_parts')
    with op.batch_alter_table('objects', schema=None) as batch_op:
        batch_op.drop_column('parts_count')
