"""Migration 0012 keys reports by period and keeps the weekly reports already stored."""
from __future__ import annotations

import json

import sqlalchemy as sa
from flask_migrate import downgrade, stamp, upgrade

from app.extensions import db
from app.models import User
from tests.conftest import login


# A weekly report's figures as stored before reports had periods, cuts or comparisons.
V1_FIGURES = {
    "version": 1, "week": "2026-W21", "label": "Week 21 · May 18 – May 24, 2026", "timezone": "Europe/London",
    "organic": {"posts_published": 4, "cadence_target": 3, "cadence_label": "on cadence", "on_cadence": True,
                "views": 48210, "views_change": 0.12, "engagement_rate": 0.052, "engagement_change_pp": 0.4,
                "new_followers": 310},
    "paid": None, "top_posts": [], "accounts": [], "notes": [], "source": "TikTok API for Business",
    "generated_at": "2026-05-25T09:00:00+00:00", "data_as_of": None,
}


def test_existing_weekly_reports_keep_their_week_and_url_after_the_period_migration(app, client, people):
    db.session.commit()
    ws_id, admin_id = people.workspace.id, people.admin.id
    db.session.remove()
    with db.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    stamp()  # the test database is built from the models: it is at the head revision
    downgrade(revision="0011")
    with db.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO reports (workspace_id, iso_week, week_start, week_end, figures, generated_at) "
            "VALUES (:ws, '2026-W21', '2026-05-18', '2026-05-24', :figures, '2026-05-25 09:00:00+00:00')"),
            {"ws": ws_id, "figures": json.dumps(V1_FIGURES)})
    upgrade()
    with db.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT kind, period_key, period_start, period_end, queued_at FROM reports")).one()
    assert (row.kind, row.period_key, str(row.period_start), str(row.period_end)) == (
        "weekly", "2026-W21", "2026-05-18", "2026-05-24")
    assert row.queued_at is not None  # the weekly run that built it queued it: the hourly job leaves it alone
    login(client, db.session.get(User, admin_id))
    page = client.get("/reports/2026-W21").get_data(as_text=True)
    assert "Week 21 · May 18 – May 24, 2026" in page and "48,210" in page and "+12.0% vs previous week" in page
    assert "Week 21 · May 18 – May 24, 2026" in client.get("/reports").get_data(as_text=True)
