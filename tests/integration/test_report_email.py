"""The report email's plain-text part: counts read as English ("1 post", "7 posts")."""
from __future__ import annotations

from datetime import datetime, timezone

from app.extensions import db
from app.services import report_delivery, report_figures
from tests.report_data import NOW, WEEK, add_post, seed_brass


def test_plain_text_says_1_post_and_7_posts(app, people):
    _, conn2 = seed_brass(people)  # @brassorbit3: 7 posts in the week
    add_post(conn2, "moon-1", datetime(2026, 5, 20, 12, tzinfo=timezone.utc), views=1)  # @moontideco2: 1
    report = report_figures.build_report(people.workspace, WEEK, now=NOW)
    db.session.commit()
    text = report_delivery.render_email(report, people.workspace).text
    by_account = text.split("BY ACCOUNT", 1)[1]
    assert "@moontideco2: 1 post ·" in by_account and "@brassorbit3: 7 posts ·" in by_account
    assert "1 posts" not in text and "1 followers" not in text
    assert "target 3 posts a week" in text
