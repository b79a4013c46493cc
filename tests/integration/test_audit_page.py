"""The audit trail page and its CSV export, for workspace admins only."""
import codecs
import csv
import io

from werkzeug.http import parse_options_header

from app.extensions import db
from app.services import audit
from app.web.audit import download_name
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
    rows = list(csv.reader(io.StringIO(r.get_data().decode("utf-8-sig"))))
    assert rows[0][:3] == ["time (UTC)", "event", "description"]
    assert {row[1] for row in rows[1:]} == {"connect.succeeded", "token.refreshed", "connect.failed"}
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)


def test_csv_export_of_a_workspace_named_beyond_latin_1(client, people):
    """The file name comes from the workspace: a header carries only Latin-1 (a real
    server could not send the response at all), and a `"` must not end the quoted name."""
    people.workspace.name = 'Café "Łódź" 東京'
    seed(people)
    login(client, people.admin)
    r = client.get("/settings/audit.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv" and r.mimetype_params["charset"] == "utf-8"
    for name, value in r.headers.items():
        value.encode("latin-1")  # what the server writes; raises for a raw non-Latin-1 name
    disposition = r.headers["Content-Disposition"]
    kind, options = parse_options_header(disposition)
    assert kind == "attachment"
    assert options["filename"] == "audit-café-łódź-東京.csv"  # decoded from RFC 5987 filename*=UTF-8''…
    assert "filename*=UTF-8''audit-caf%C3%A9-%C5%82%C3%B3d%C5%BA-%E6%9D%B1%E4%BA%AC.csv" in disposition
    body = r.get_data()
    assert body.startswith(codecs.BOM_UTF8)  # spreadsheets then read the file as UTF-8
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["time (UTC)", "event", "description", "by", "account", "detail"]
    assert all(len(row) == 6 for row in rows)
    assert {row[1] for row in rows[1:]} == {"connect.succeeded", "token.refreshed"}
    assert {row[4] for row in rows[1:]} == {"'@brassorbit3"}  # the dashboard export's formula guard


def test_download_name_keeps_letters_and_drops_what_a_file_name_cannot_hold():
    assert download_name("Brass Studio") == "audit-brass-studio.csv"
    assert download_name('Café "Łódź" 東京') == "audit-café-łódź-東京.csv"
    assert download_name('a/b\\c:d*e?f<g>h|i\r\nj') == "audit-abcdefghij.csv"
    assert download_name(' "" ') == "audit-workspace.csv"


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
