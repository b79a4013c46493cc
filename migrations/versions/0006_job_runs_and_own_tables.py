"""Job run records; webhook de-duplication and purge receipt links get tables of their own

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 08:00:00

1. job_runs: one row per job name (last start, finish, success, status, a short error,
   totals of runs, failures and failed items, the last counts, the last start-up
   catch-up), written by every instance, read by `flask jobs status` and /metrics.
2. webhook_deliveries: the digest of each TikTok webhook event already applied
   (unique), with the time it arrived. These rows used to be leases in job_claims
   (job "tiktok-webhook", key = the digest, claimed_at = arrival): copied here.
3. purge_receipt_links: a connection whose purge is in progress → its receipt. These
   were job_claims rows too (job "purge-receipt", key "connection:<id>", owner = the
   receipt's reference): copied here, so a purge interrupted before the upgrade resumes
   into the same receipt after it.

New tables are created with `sqlite_autoincrement=True` (ids never reused, as in 0005).
Downgrade copies both kinds of rows back into job_claims and drops the tables.
"""
from datetime import datetime, timedelta, timezone

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

WEBHOOK_JOB = 'tiktok-webhook'
WEBHOOK_TTL = timedelta(days=7)
RECEIPT_LINK_JOB = 'purge-receipt'
RECEIPT_LINK_TTL = timedelta(days=3650)

job_claims = sa.table('job_claims', sa.column('id', sa.Integer), sa.column('job', sa.String),
                      sa.column('key', sa.String), sa.column('owner', sa.String),
                      sa.column('claimed_at', sa.DateTime(timezone=True)),
                      sa.column('expires_at', sa.DateTime(timezone=True)))
deletion_receipts = sa.table('deletion_receipts', sa.column('id', sa.Integer), sa.column('reference', sa.String))
tiktok_connections = sa.table('tiktok_connections', sa.column('id', sa.Integer))


def upgrade():
    op.create_table('job_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('last_status', sa.String(length=16), nullable=True),
    sa.Column('last_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_duration_seconds', sa.Float(), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_counts', sa.JSON(), nullable=True),
    sa.Column('last_catch_up_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('runs_total', sa.Integer(), nullable=False),
    sa.Column('failures_total', sa.Integer(), nullable=False),
    sa.Column('item_errors_total', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs')),
    sa.UniqueConstraint('name', name=op.f('uq_job_runs_name')),
    sqlite_autoincrement=True,
    )

    webhook_deliveries = op.create_table('webhook_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    sa.UniqueConstraint('key', name=op.f('uq_webhook_deliveries_key')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_deliveries_received_at'), ['received_at'], unique=False)

    purge_receipt_links = op.create_table('purge_receipt_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('receipt_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['tiktok_connections.id'],
                            name=op.f('fk_purge_receipt_links_connection_id_tiktok_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['receipt_id'], ['deletion_receipts.id'],
                            name=op.f('fk_purge_receipt_links_receipt_id_deletion_receipts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purge_receipt_links')),
    sa.UniqueConstraint('connection_id', name=op.f('uq_purge_receipt_links_connection_id')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('purge_receipt_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_purge_receipt_links_receipt_id'), ['receipt_id'], unique=False)

    _move_claims_out(webhook_deliveries, purge_receipt_links)


def downgrade():
    _move_claims_back()
    with op.batch_alter_table('purge_receipt_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purge_receipt_links_receipt_id'))
    op.drop_table('purge_receipt_links')
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_deliveries_received_at'))
    op.drop_table('webhook_deliveries')
    op.drop_table('job_runs')


def _aware(value):
    """SQLite returns naive UTC timestamps; PostgreSQL aware ones."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def _move_claims_out(webhook_deliveries, purge_receipt_links):
    bind = op.get_bind()
    rows = bind.execute(sa.select(job_claims.c.key, job_claims.c.claimed_at)
                        .where(job_claims.c.job == WEBHOOK_JOB)).all()
    if rows:
        op.bulk_insert(webhook_deliveries, [{'key': key, 'received_at': _aware(at)} for key, at in rows])
    links = []
    for key, reference, at in bind.execute(
            sa.select(job_claims.c.key, job_claims.c.owner, job_claims.c.claimed_at)
            .where(job_claims.c.job == RECEIPT_LINK_JOB)).all():
        prefix, _, conn_id = key.partition(':')
        receipt_id = bind.execute(sa.select(deletion_receipts.c.id)
                                  .where(deletion_receipts.c.reference == reference)).scalar()
        if prefix != 'connection' or not conn_id.isdigit() or receipt_id is None:
            continue  # a link to a receipt that is gone: the next purge starts a new one, as before
        if bind.execute(sa.select(tiktok_connections.c.id).where(tiktok_connections.c.id == int(conn_id))).scalar():
            links.append({'connection_id': int(conn_id), 'receipt_id': receipt_id, 'started_at': _aware(at)})
    if links:
        op.bulk_insert(purge_receipt_links, links)
    op.execute(job_claims.delete().where(job_claims.c.job.in_([WEBHOOK_JOB, RECEIPT_LINK_JOB])))


def _move_claims_back():
    bind = op.get_bind()
    deliveries = sa.table('webhook_deliveries', sa.column('key', sa.String),
                          sa.column('received_at', sa.DateTime(timezone=True)))
    links = sa.table('purge_receipt_links', sa.column('connection_id', sa.Integer),
                     sa.column('receipt_id', sa.Integer), sa.column('started_at', sa.DateTime(timezone=True)))
    claims = [{'job': WEBHOOK_JOB, 'key': key, 'owner': 'processed', 'claimed_at': _aware(at),
               'expires_at': _aware(at) + WEBHOOK_TTL}
              for key, at in bind.execute(sa.select(deliveries.c.key, deliveries.c.received_at)).all()]
    for conn_id, reference, at in bind.execute(
            sa.select(links.c.connection_id, deletion_receipts.c.reference, links.c.started_at)
            .join(deletion_receipts, deletion_receipts.c.id == links.c.receipt_id)).all():
        claims.append({'job': RECEIPT_LINK_JOB, 'key': f'connection:{conn_id}', 'owner': reference,
                       'claimed_at': _aware(at), 'expires_at': _aware(at) + RECEIPT_LINK_TTL})
    if claims:
        op.bulk_insert(job_claims, claims)
