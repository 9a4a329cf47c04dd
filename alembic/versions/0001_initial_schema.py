"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-29 05:21:21.106750
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    
    op.create_table('channel_state',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('changed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('fetch_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('checked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('error_class', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('new_articles', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('fetch_log', schema=None) as batch_op:
        batch_op.create_index('ix_fetch_log_source_at', ['source', 'checked_at'], unique=False)

    op.create_table('sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('next_check_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('interval_seconds', sa.Float(), nullable=False),
    sa.Column('etag', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('last_modified', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('failing', sa.Boolean(), nullable=False),
    sa.Column('last_checked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_success_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_error_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_error_class', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('items_per_week', sa.Float(), nullable=True),
    sa.Column('articles_total', sa.Integer(), nullable=False),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('body_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('last_unconditional_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('validators_unreliable', sa.Boolean(), nullable=False),
    sa.Column('avg_body_chars', sa.Float(), nullable=True),
    sa.Column('last_warning_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_warning_class', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('last_warning', sa.Text(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sources_next_check_at'), ['next_check_at'], unique=False)

    op.create_table('stories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('first_article_id', sa.Integer(), nullable=True),
    sa.Column('first_source', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('first_seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('article_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('stories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stories_first_article_id'), ['first_article_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stories_first_seen_at'), ['first_seen_at'], unique=False)

    op.create_table('articles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('canonical_url', sa.Text(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('author', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('title_norm', sa.Text(), nullable=False),
    sa.Column('body_norm', sa.Text(), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('fingerprint', sa.LargeBinary(), nullable=True),
    sa.Column('published_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('fetched_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('extraction', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['story_id'], ['stories.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('url_hash')
    )
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_articles_content_hash'), ['content_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_articles_fetched_at'), ['fetched_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_articles_published_at'), ['published_at'], unique=False)
        batch_op.create_index('ix_articles_source_fetched', ['source', 'fetched_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_articles_story_id'), ['story_id'], unique=False)

    op.create_table('article_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('replaced_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('article_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_article_revisions_article_id'), ['article_id'], unique=False)

    op.create_table('article_urls',
    sa.Column('url_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], ),
    sa.PrimaryKeyConstraint('url_hash')
    )
    with op.batch_alter_table('article_urls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_article_urls_article_id'), ['article_id'], unique=False)

    op.create_table('matches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=True),
    sa.Column('terms', sa.Text(), nullable=False),
    sa.Column('hits', sa.Text(), nullable=False),
    sa.Column('snippet', sa.Text(), nullable=False),
    sa.Column('matched_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rule', 'article_id', name='uq_matches_rule_article')
    )
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matches_article_id'), ['article_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_matches_matched_at'), ['matched_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_matches_rule'), ['rule'], unique=False)
        batch_op.create_index(batch_op.f('ix_matches_story_id'), ['story_id'], unique=False)

    op.create_table('story_keys',
    sa.Column('band_key', sa.LargeBinary(length=8), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.Column('seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], ),
    sa.PrimaryKeyConstraint('band_key', 'article_id')
    )
    with op.batch_alter_table('story_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_story_keys_seen_at'), ['seen_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_story_keys_story_id'), ['story_id'], unique=False)

    op.create_table('alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('match_id', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('mode', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], ),
    sa.ForeignKeyConstraint(['match_id'], ['matches.id'], ),
    sa.ForeignKeyConstraint(['story_id'], ['stories.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key'),
    sa.UniqueConstraint('rule', 'story_id', 'channel', name='uq_alerts_rule_story_channel')
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_status_next', ['status', 'next_attempt_at'], unique=False)

    op.create_table('alert_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('attempted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alert_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_attempts_alert_id'), ['alert_id'], unique=False)




def downgrade() -> None:
    
    with op.batch_alter_table('alert_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_attempts_alert_id'))

    op.drop_table('alert_attempts')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_status_next')

    op.drop_table('alerts')
    with op.batch_alter_table('story_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_story_keys_story_id'))
        batch_op.drop_index(batch_op.f('ix_story_keys_seen_at'))

    op.drop_table('story_keys')
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_matches_story_id'))
        batch_op.drop_index(batch_op.f('ix_matches_rule'))
        batch_op.drop_index(batch_op.f('ix_matches_matched_at'))
        batch_op.drop_index(batch_op.f('ix_matches_article_id'))

    op.drop_table('matches')
    with op.batch_alter_table('article_urls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_article_urls_article_id'))

    op.drop_table('article_urls')
    with op.batch_alter_table('article_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_article_revisions_article_id'))

    op.drop_table('article_revisions')
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_articles_story_id'))
        batch_op.drop_index('ix_articles_source_fetched')
        batch_op.drop_index(batch_op.f('ix_articles_published_at'))
        batch_op.drop_index(batch_op.f('ix_articles_fetched_at'))
        batch_op.drop_index(batch_op.f('ix_articles_content_hash'))

    op.drop_table('articles')
    with op.batch_alter_table('stories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stories_first_seen_at'))
        batch_op.drop_index(batch_op.f('ix_stories_first_article_id'))

    op.drop_table('stories')
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sources_next_check_at'))

    op.drop_table('sources')
    with op.batch_alter_table('fetch_log', schema=None) as batch_op:
        batch_op.drop_index('ix_fetch_log_source_at')

    op.drop_table('fetch_log')
    op.drop_table('channel_state')

