"""The audit trail page and its CSV export, for workspace admins only."""
import csv
import io

from app.extensions import db
from app.services import audit
from tests.conftest import login
from tests.factories import make_connection


def seed(people):
    conn = make_connection(people.workspace, people.creator, username="brassorbit3")
    audit.record("connect.succeeded", actor_id=people.creator.id, workspace_id=people.workspace.id,
                 connection_id=conn.id, scopes=12)
    audit.record("token.refreshed", workspace_id=people.workspace.id, connection_id=conn.id)
    audit.record("connect.succeeded", actor_id=people.outsider.id, workspace_id=people.other_workspace.id,
                 detail_note="=HYPERLINK(\"evil\")")
    db.session.commit()
    return conn


def test_admin_sees_who_did_what(client, people):
    seed(people)
    login(client, people.admin)
    html = client.get("/settings/audit").get_data(as_text=True)
    assert "Connected an account" in html and "creator@example.com" in html and "@brassorbit3" in html
    assert "Access token refreshed" in html and "Logic Target" in html
    assert "outsider@example.com" not in html  # another workspace's trail


def test_csv_export_is_scoped_and_formula_safe(client, people):
    seed(people)
    audit.record("connect.failed", workspace_id=people.workspace.id, reason="=cmd|' /C calc'!A0")
    db.session.commit()
    login(client, people.admin)
    r = client.get("/settings/audit.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    assert rows[0][:3] == ["time (UTC)", "event", "description"]
    assert {row[1] for row in rows[1:]} == {"connect.succeeded", "token.refreshed", "connect.failed"}
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)


def test_creators_cannot_read_the_audit_trail(client, people):
    seed(people)
    login(client, people.creator)
    assert client.get("/settings/audit").status_code == 403
    assert client.get("/settings/audit.csv").status_code == 403


def test_integrations_links_the_audit_trail_for_admins_only(client, people):
    login(client, people.admin)
    assert "audit trail" in client.get("/settings/integrations").get_data(as_text=True)
    login(client, people.creator)
    assert "audit trail" not in client.get("/settings/integrations").get_data(as_text=True)
