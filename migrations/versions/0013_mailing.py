"""mailing: postal addresses, label formats (the common A4 sheets), selections, campaigns with
their frozen lists, the e-mail outbox and unsubscribes

Revision ID: 0013_mailing
Revises: 0016_vat_exempt_basis
Create Date: 2026-12-07 11:10:45

Existing free-text postal addresses stay on clients.postal_address; a structured address is
entered on the card (the free text is shown beside it as a hint).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_mailing'
down_revision = '0016_vat_exempt_basis'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('label_formats',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('rows_count', sa.Integer(), nullable=False),
    sa.Column('columns_count', sa.Integer(), nullable=False),
    sa.Column('page_width', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('page_height', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('label_width', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('label_height', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('margin_top', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('margin_left', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('gap_x', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('gap_y', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('offset_x', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('offset_y', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('padding', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('is_builtin', sa.Boolean(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.CheckConstraint('rows_count > 0 AND columns_count > 0', name=op.f('ck_label_formats_grid_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_label_formats')),
    sa.UniqueConstraint('code', name=op.f('uq_label_formats_code'))
    )
    op.create_table('mail_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_attachments'))
    )
    op.create_table('mail_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('host', sa.String(length=200), nullable=False),
    sa.Column('port', sa.Integer(), nullable=False),
    sa.Column('security', sa.String(length=8), nullable=False),
    sa.Column('sender', sa.String(length=254), nullable=False),
    sa.Column('username', sa.String(length=200), nullable=True),
    sa.Column('password_encrypted', sa.Text(), nullable=True),
    sa.Column('rate_per_minute', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.CheckConstraint("security IN ('none', 'starttls', 'ssl')", name=op.f('ck_mail_settings_security_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_settings'))
    )
    op.create_table('mailing_selections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('target', sa.String(length=16), nullable=False),
    sa.Column('contact_mode', sa.String(length=16), nullable=False),
    sa.Column('position', sa.String(length=200), nullable=True),
    sa.Column('filter', sa.JSON(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.CheckConstraint("contact_mode IN ('all', 'main', 'position')", name=op.f('ck_mailing_selections_mode_known')),
    sa.CheckConstraint("target IN ('clients', 'contacts')", name=op.f('ck_mailing_selections_target_known')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_mailing_selections_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mailing_selections'))
    )
    op.create_table('mailing_campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('selection_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('frozen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('frozen_by_id', sa.Integer(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.CheckConstraint("channel IN ('post', 'email')", name=op.f('ck_mailing_campaigns_channel_known')),
    sa.CheckConstraint("status IN ('draft', 'frozen', 'sending', 'sent')", name=op.f('ck_mailing_campaigns_status_known')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_mailing_campaigns_created_by_id_users')),
    sa.ForeignKeyConstraint(['frozen_by_id'], ['users.id'], name=op.f('fk_mailing_campaigns_frozen_by_id_users')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_mailing_campaigns_organization_id_organizations')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_mailing_campaigns_project_id_projects')),
    sa.ForeignKeyConstraint(['selection_id'], ['mailing_selections.id'], name=op.f('fk_mailing_campaigns_selection_id_mailing_selections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mailing_campaigns'))
    )
    with op.batch_alter_table('mailing_campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mailing_campaigns_selection_id'), ['selection_id'], unique=False)

    op.create_table('mail_unsubscribes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['mailing_campaigns.id'], name=op.f('fk_mail_unsubscribes_campaign_id_mailing_campaigns')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_mail_unsubscribes_client_id_clients')),
    sa.ForeignKeyConstraint(['contact_id'], ['contact_persons.id'], name=op.f('fk_mail_unsubscribes_contact_id_contact_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_unsubscribes')),
    sa.UniqueConstraint('email', name=op.f('uq_mail_unsubscribes_email'))
    )
    with op.batch_alter_table('mail_unsubscribes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_unsubscribes_client_id'), ['client_id'], unique=False)

    op.create_table('postal_addresses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('recipient', sa.String(length=300), nullable=True),
    sa.Column('postcode', sa.String(length=6), nullable=False),
    sa.Column('region', sa.String(length=120), nullable=True),
    sa.Column('city', sa.String(length=120), nullable=False),
    sa.Column('street', sa.String(length=200), nullable=False),
    sa.Column('building', sa.String(length=40), nullable=False),
    sa.Column('office', sa.String(length=40), nullable=True),
    sa.Column('returned', sa.Boolean(), nullable=False),
    sa.Column('returned_reason', sa.String(length=300), nullable=True),
    sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('returned_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_postal_addresses_client_id_clients')),
    sa.ForeignKeyConstraint(['contact_id'], ['contact_persons.id'], name=op.f('fk_postal_addresses_contact_id_contact_persons')),
    sa.ForeignKeyConstraint(['returned_by_id'], ['users.id'], name=op.f('fk_postal_addresses_returned_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_postal_addresses')),
    sa.UniqueConstraint('client_id', 'contact_id', name=op.f('uq_postal_addresses_client_id_contact_id'))
    )
    with op.batch_alter_table('postal_addresses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_postal_addresses_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_postal_addresses_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index('ix_postal_addresses_returned', ['returned'], unique=False)

    op.create_table('mailing_campaign_recipients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('address_id', sa.Integer(), nullable=True),
    sa.Column('client_name', sa.String(length=300), nullable=False),
    sa.Column('person', sa.String(length=300), nullable=True),
    sa.Column('recipient', sa.String(length=300), nullable=True),
    sa.Column('postcode', sa.String(length=6), nullable=True),
    sa.Column('region', sa.String(length=120), nullable=True),
    sa.Column('city', sa.String(length=120), nullable=True),
    sa.Column('street', sa.String(length=200), nullable=True),
    sa.Column('building', sa.String(length=40), nullable=True),
    sa.Column('office', sa.String(length=40), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('excluded', sa.String(length=16), nullable=True),
    sa.Column('unsubscribed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['address_id'], ['postal_addresses.id'], name=op.f('fk_mailing_campaign_recipients_address_id_postal_addresses')),
    sa.ForeignKeyConstraint(['campaign_id'], ['mailing_campaigns.id'], name=op.f('fk_mailing_campaign_recipients_campaign_id_mailing_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_mailing_campaign_recipients_client_id_clients')),
    sa.ForeignKeyConstraint(['contact_id'], ['contact_persons.id'], name=op.f('fk_mailing_campaign_recipients_contact_id_contact_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mailing_campaign_recipients'))
    )
    with op.batch_alter_table('mailing_campaign_recipients', schema=None) as batch_op:
        batch_op.create_index('ix_mailing_campaign_recipients_campaign', ['campaign_id', 'position'], unique=False)
        batch_op.create_index(batch_op.f('ix_mailing_campaign_recipients_client_id'), ['client_id'], unique=False)

    op.create_table('mail_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('to_name', sa.String(length=300), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('deal_id', sa.Integer(), nullable=True),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('recipient_id', sa.Integer(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('server_reply', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'failed', 'sent', 'dead')", name=op.f('ck_mail_messages_status_known')),
    sa.ForeignKeyConstraint(['campaign_id'], ['mailing_campaigns.id'], name=op.f('fk_mail_messages_campaign_id_mailing_campaigns')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_mail_messages_client_id_clients')),
    sa.ForeignKeyConstraint(['contact_id'], ['contact_persons.id'], name=op.f('fk_mail_messages_contact_id_contact_persons')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_mail_messages_created_by_id_users')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_mail_messages_deal_id_deals')),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_mail_messages_document_id_documents')),
    sa.ForeignKeyConstraint(['recipient_id'], ['mailing_campaign_recipients.id'], name=op.f('fk_mail_messages_recipient_id_mailing_campaign_recipients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_messages'))
    )
    with op.batch_alter_table('mail_messages', schema=None) as batch_op:
        batch_op.create_index('ix_mail_messages_client_id', ['client_id'], unique=False)
        batch_op.create_index('ix_mail_messages_deal_id', ['deal_id'], unique=False)
        batch_op.create_index('ix_mail_messages_status_next', ['status', 'next_attempt_at'], unique=False)

    op.create_table('mail_message_attachments',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('attachment_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['attachment_id'], ['mail_attachments.id'], name=op.f('fk_mail_message_attachments_attachment_id_mail_attachments')),
    sa.ForeignKeyConstraint(['message_id'], ['mail_messages.id'], name=op.f('fk_mail_message_attachments_message_id_mail_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id', 'attachment_id', name=op.f('pk_mail_message_attachments'))
    )
    with op.batch_alter_table('mail_message_attachments', schema=None) as batch_op:
        batch_op.create_index('ix_mail_message_attachments_attachment_id', ['attachment_id'], unique=False)


    formats = sa.table(
        'label_formats', *(sa.column(c) for c in (
            'code', 'name', 'rows_count', 'columns_count', 'page_width', 'page_height',
            'label_width', 'label_height', 'margin_top', 'margin_left', 'gap_x', 'gap_y',
            'offset_x', 'offset_y', 'padding', 'is_builtin', 'is_active')),
    )
    common = [
        # code, name, rows, columns, label w × h, top, left, gap x, gap y (mm, A4 210 × 297)
        ('a4-2x7', 'A4, 2 × 7 (99,1 × 38,1 мм)', 7, 2, 99.1, 38.1, 15.15, 4.65, 2.5, 0),
        ('a4-3x7', 'A4, 3 × 7 (63,5 × 38,1 мм)', 7, 3, 63.5, 38.1, 15.15, 7.2, 2.5, 0),
        ('a4-3x8', 'A4, 3 × 8 (70 × 36 мм)', 8, 3, 70, 36, 4.5, 0, 0, 0),
        ('a4-4x16', 'A4, 4 × 16 (48,5 × 16,9 мм)', 16, 4, 48.5, 16.9, 13.3, 8, 0, 0),
    ]
    op.bulk_insert(formats, [
        {'code': code, 'name': name, 'rows_count': rows, 'columns_count': cols,
         'page_width': 210, 'page_height': 297, 'label_width': w, 'label_height': h,
         'margin_top': top, 'margin_left': left, 'gap_x': gx, 'gap_y': gy, 'offset_x': 0,
         'offset_y': 0, 'padding': 1.5 if h < 20 else 3, 'is_builtin': True, 'is_active': True}
        for code, name, rows, cols, w, h, top, left, gx, gy in common
    ])


def downgrade():
    with op.batch_alter_table('mail_message_attachments', schema=None) as batch_op:
        batch_op.drop_index('ix_mail_message_attachments_attachment_id')

    op.drop_table('mail_message_attachments')
    with op.batch_alter_table('mail_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_mail_messages_status_next')
        batch_op.drop_index('ix_mail_messages_deal_id')
        batch_op.drop_index('ix_mail_messages_client_id')

    op.drop_table('mail_messages')
    with op.batch_alter_table('mailing_campaign_recipients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mailing_campaign_recipients_client_id'))
        batch_op.drop_index('ix_mailing_campaign_recipients_campaign')

    op.drop_table('mailing_campaign_recipients')
    with op.batch_alter_table('postal_addresses', schema=None) as batch_op:
        batch_op.drop_index('ix_postal_addresses_returned')
        batch_op.drop_index(batch_op.f('ix_postal_addresses_contact_id'))
        batch_op.drop_index(batch_op.f('ix_postal_addresses_client_id'))

    op.drop_table('postal_addresses')
    with op.batch_alter_table('mail_unsubscribes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_unsubscribes_client_id'))

    op.drop_table('mail_unsubscribes')
    with op.batch_alter_table('mailing_campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mailing_campaigns_selection_id'))

    op.drop_table('mailing_campaigns')
    op.drop_table('mailing_selections')
    op.drop_table('mail_settings')
    op.drop_table('mail_attachments')
    op.drop_table('label_formats')
