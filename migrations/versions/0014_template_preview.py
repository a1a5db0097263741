"""document templates: a new upload stays inactive until the admin activates it after a preview

Revision ID: 0014_template_preview
Revises: 0010_next_contact
Create Date: 2026-12-07 11:45:00

`previewed_at` / `previewed_by_id`: when and by whom an uploaded template was last previewed.
Templates that are active today were in use already: they count as previewed at their upload.
"""

from alembic import op
import sqlalchemy as sa


revision = '0014_template_preview'
down_revision = '0010_next_contact'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('document_templates') as batch:
        batch.add_column(sa.Column('previewed_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('previewed_by_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(
            'fk_document_templates_previewed_by_id_users', 'users', ['previewed_by_id'], ['id']
        )
    op.execute(
        "UPDATE document_templates SET previewed_at = uploaded_at, "
        "previewed_by_id = uploaded_by_id WHERE is_active"
    )


def downgrade():
    with op.batch_alter_table('document_templates') as batch:
        batch.drop_constraint('fk_document_templates_previewed_by_id_users', type_='foreignkey')
        batch.drop_column('previewed_by_id')
        batch.drop_column('previewed_at')
