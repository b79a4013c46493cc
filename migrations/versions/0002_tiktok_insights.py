"""TikTok insights: reach, new/lost followers, activity, demographics, post insights, paid engagement

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 07:45:00

What a sync now keeps from TikTok's documented fields: per account and day the reach,
engaged audience, followers active per hour and profile link clicks; one demographics
snapshot per account and day (TikTok keeps no history of them); per post saves, length,
watch time, retention, traffic sources and viewer types; per Spark Ad and day the paid
engagement counts.
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

ACCOUNT_COLUMNS = (
    ('reach', sa.BigInteger()), ('engaged_audience', sa.BigInteger()),
    ('audience_activity', sa.JSON()), ('clicks', sa.JSON()),
)
POST_COLUMNS = (
    ('favorites', sa.BigInteger()), ('video_duration', sa.Float()), ('total_time_watched', sa.Float()),
    ('average_time_watched', sa.Float()), ('new_followers', sa.BigInteger()), ('profile_views', sa.BigInteger()),
    ('retention', sa.JSON()), ('impression_sources', sa.JSON()), ('audience_types', sa.JSON()),
)
POST_METRIC_COLUMNS = (('favorites', sa.BigInteger()),)
SPARK_COLUMNS = (
    ('reach', sa.BigInteger()), ('frequency', sa.Numeric(precision=10, scale=2)),
    ('video_play_actions', sa.BigInteger()), ('video_watched_2s', sa.BigInteger()),
    ('video_watched_6s', sa.BigInteger()), ('video_views_p100', sa.BigInteger()), ('likes', sa.BigInteger()),
    ('comments', sa.BigInteger()), ('shares', sa.BigInteger()), ('follows', sa.BigInteger()),
    ('profile_visits', sa.BigInteger()),
)
CONNECTION_COLUMNS = (('token_checked_at', sa.DateTime(timezone=True)),)
TABLES = (
    ('tiktok_connections', CONNECTION_COLUMNS), ('account_snapshots', ACCOUNT_COLUMNS), ('posts', POST_COLUMNS), ('post_metrics', POST_METRIC_COLUMNS),
    ('spark_ad_metrics', SPARK_COLUMNS),
)


def upgrade():
    for table, columns in TABLES:
        with op.batch_alter_table(table) as batch:
            for name, type_ in columns:
                batch.add_column(sa.Column(name, type_, nullable=True))
    op.create_table('audience_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('ages', sa.JSON(), nullable=True),
    sa.Column('genders', sa.JSON(), nullable=True),
    sa.Column('countries', sa.JSON(), nullable=True),
    sa.Column('cities', sa.JSON(), nullable=True),
    sa.Column('captured_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['tiktok_connections.id'], name=op.f('fk_audience_snapshots_connection_id_tiktok_connections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audience_snapshots')),
    sa.UniqueConstraint('connection_id', 'day', name=op.f('uq_audience_snapshots_connection_id_day'))
    )


def downgrade():
    op.drop_table('audience_snapshots')
    for table, columns in reversed(TABLES):
        with op.batch_alter_table(table) as batch:
            for name, _ in reversed(columns):
                batch.drop_column(name)
