"""Public deletion requests go through review or TikTok ownership proof

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 07:45:00

A confirmed mailbox no longer deletes anything by itself: a verified request waits
"in_review" for agency staff to approve or reject it (with a reason), unless the
requester proves ownership by signing in with the TikTok account. So:

- deletion_requests: the decision (when, by whom, how, why), who has been emailed
  about it, and the statuses in_review / approved / rejected in place of verified.
  Requests that were "verified" (confirmed but not yet carried out) become in_review:
  nothing confirmed before this revision is deleted without a decision.
- deletion_request_matches: which connected accounts a request names, so the queue
  can be scoped to those workspaces' admins and an approval deletes exactly those.
- oauth_transactions: a "Verify with TikTok" transaction belongs to a deletion request
  (and the browser session), not to a user and workspace.
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('received', 'verified', 'completed')"
NEW_STATUSES = "status IN ('received', 'in_review', 'approved', 'rejected', 'completed')"
TRANSACTION_OWNER = ("(deletion_request_id IS NULL AND user_id IS NOT NULL AND workspace_id IS NOT NULL)"
                     " OR (deletion_request_id IS NOT NULL AND user_id IS NULL AND workspace_id IS NULL)")


def upgrade():
    with op.batch_alter_table('deletion_requests') as batch_op:
        batch_op.drop_constraint(op.f('ck_deletion_requests_request_status'), type_='check')
        batch_op.add_column(sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('decided_by_user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decided_via', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('decision_reason', sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column('notified_user_ids', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('reviewers_notified_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('requester_notified', sa.String(length=12), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_deletion_requests_decided_by_user_id_users'), 'users',
                                    ['decided_by_user_id'], ['id'], ondelete='SET NULL')
    op.execute("UPDATE deletion_requests SET status = 'in_review' WHERE status = 'verified'")
    with op.batch_alter_table('deletion_requests') as batch_op:
        batch_op.create_check_constraint('request_status', NEW_STATUSES)

    op.create_table('deletion_request_matches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('matched_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['tiktok_connections.id'], name=op.f('fk_deletion_request_matches_connection_id_tiktok_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['request_id'], ['deletion_requests.id'], name=op.f('fk_deletion_request_matches_request_id_deletion_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deletion_request_matches')),
    sa.UniqueConstraint('request_id', 'connection_id', name=op.f('uq_deletion_request_matches_request_id_connection_id'))
    )
    with op.batch_alter_table('deletion_request_matches') as batch_op:
        batch_op.create_index(batch_op.f('ix_deletion_request_matches_connection_id'), ['connection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deletion_request_matches_request_id'), ['request_id'], unique=False)

    with op.batch_alter_table('oauth_transactions') as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('workspace_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('deletion_request_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_oauth_transactions_deletion_request_id_deletion_requests'),
                                    'deletion_requests', ['deletion_request_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_oauth_transactions_deletion_request_id'), ['deletion_request_id'],
                              unique=False)
        batch_op.create_check_constraint('transaction_owner', TRANSACTION_OWNER)


def downgrade():
    # Pending "Verify with TikTok" checks cannot exist without their request column.
    op.execute("DELETE FROM oauth_transactions WHERE deletion_request_id IS NOT NULL")
    with op.batch_alter_table('oauth_transactions') as batch_op:
        batch_op.drop_constraint(op.f('ck_oauth_transactions_transaction_owner'), type_='check')
        batch_op.drop_index(batch_op.f('ix_oauth_transactions_deletion_request_id'))
        batch_op.drop_constraint(batch_op.f('fk_oauth_transactions_deletion_request_id_deletion_requests'),
                                 type_='foreignkey')
        batch_op.drop_column('deletion_request_id')
        batch_op.alter_column('workspace_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)

    op.drop_table('deletion_request_matches')

    with op.batch_alter_table('deletion_requests') as batch_op:
        batch_op.drop_constraint(op.f('ck_deletion_requests_request_status'), type_='check')
    # The older schema deletes every "verified" request's accounts unreviewed: only an
    # approved request may become one. Undecided and rejected ones fall back to
    # "received", which deletes nothing and is forgotten after a week.
    op.execute("UPDATE deletion_requests SET status = 'verified' WHERE status = 'approved'")
    op.execute("UPDATE deletion_requests SET status = 'received' WHERE status IN ('in_review', 'rejected')")
    with op.batch_alter_table('deletion_requests') as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_deletion_requests_decided_by_user_id_users'), type_='foreignkey')
        batch_op.drop_column('requester_notified')
        batch_op.drop_column('reviewers_notified_at')
        batch_op.drop_column('notified_user_ids')
        batch_op.drop_column('decision_reason')
        batch_op.drop_column('decided_via')
        batch_op.drop_column('decided_by_user_id')
        batch_op.drop_column('decided_at')
        batch_op.create_check_constraint('request_status', OLD_STATUSES)
