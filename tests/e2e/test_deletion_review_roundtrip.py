"""Public data-deletion requests over real HTTP, against the TikTok sandbox: a stranger who
confirms a mailbox deletes nothing; staff and the owner hear of it once; an agency user
rejects (the requester reads why) or approves (the next purge deletes); the account's
owner skips the review by signing in with TikTok."""
import email
import re
from collections import Counter
from datetime import datetime, timedelta, timezone
from email import policy

import pytest
import requests
import sqlalchemy as sa

from app.extensions import db
from app.models import DeletionRequest, TikTokConnection
from app.services import mail
from jobs.runner import run_job
from tests.e2e.helpers import connect_account, csrf, sign_in

pytestmark = pytest.mark.e2e

AGENCY = ("agency@logic-target.local", "agency", "demo-agency-pass")
ADMIN = ("admin@brass.studio", "client_admin", "demo-admin-pass")
MAYA = ("maya@brass.studio", "creator", "demo-maya-pass")
LEO = ("leo@brass.studio", "creator", "demo-leo-pass")


def outbox(live_server) -> list:
    return [email.message_from_bytes(raw, policy=policy.default)
            for raw in mail.outbox_messages(live_server.app.config["MAIL_OUTBOX_DIR"])]


def text_of(msg) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


def sent_to(live_server) -> Counter:
    return Counter(str(m["To"]) for m in outbox(live_server))


def accounts_by_name(live_server) -> dict:
    with live_server.app.app_context():
        rows = db.session.execute(sa.select(TikTokConnection.username, TikTokConnection.status)).all()
        db.session.remove()
    return dict(rows)


def purge(live_server, minutes: int):
    """The deletion-notices job (who hears about a request), then purge (what is deleted)."""
    now = datetime.now(timezone.utc) + timedelta(minutes=minutes)
    result = run_job(live_server.app, "deletion-notices", now=now)
    assert not result.errors, result.errors
    purged = run_job(live_server.app, "purge", now=now)
    assert not purged.errors, purged.errors
    result.counts.update(purged.counts)
    return result


def file_request(live_server, handle: str, address: str, method: str = "email"):
    s = requests.Session()
    token = csrf(s.get(live_server.url + "/data-deletion").text)
    r = s.post(live_server.url + "/data-deletion", allow_redirects=False,
               data={"csrf_token": token, "handle": handle, "email": address, "method": method})
    assert r.status_code in (302, 303), r.text[:300]
    return s, r


def confirm_mailbox(live_server, s, address: str):
    msg = next(m for m in outbox(live_server) if m["To"] == address and "Confirm" in m["Subject"])
    link = re.search(r"(/data-deletion/verify/\S+)", text_of(msg)).group(1)
    page = s.get(live_server.url + link)
    r = s.post(live_server.url + link,
               data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)})
    assert r.status_code == 200 and "Thank you, your request is confirmed." in r.text


def request_id(live_server, status_path: str) -> int:
    reference = status_path.rsplit("/", 1)[-1]
    with live_server.app.app_context():
        found = db.session.scalar(sa.select(DeletionRequest.id).where(DeletionRequest.reference == reference))
        db.session.remove()
    return found


def decide(live_server, staff, req_id: int, action: str, **data):
    queue = staff.get(live_server.url + "/settings/deletion-requests")
    assert queue.status_code == 200 and f"deletion-request-{req_id}" in queue.text
    return staff.post(f"{live_server.url}/settings/deletion-requests/{req_id}/{action}", allow_redirects=False,
                      data={"csrf_token": csrf(queue.text), **data})


def consent_as(live_server, s, tiktok_start, username: str):
    """On the sandbox's consent page: sign in as `username`, grant what is asked, come back."""
    assert tiktok_start.status_code == 302
    consent = s.get(tiktok_start.headers["Location"])
    assert consent.status_code == 200 and "would like to access your TikTok account" in consent.text
    scopes = re.findall(r'name="scope" value="([^"]+)" checked', consent.text)
    assert scopes == ["user.info.basic"]  # only what tells us who signed in
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', consent.text))
    back = s.post(live_server.url + "/sandbox/tiktok/v2/auth/authorize/decide", allow_redirects=False,
                  data={**hidden, "username": username, "action": "grant", "scope": scopes})
    assert back.status_code == 302 and back.headers["Location"].startswith(live_server.url + "/tiktok/auth/callback?")
    landed = s.get(back.headers["Location"])
    assert landed.url.startswith(live_server.url + "/data-deletion/")
    return landed


def revokes(live_server) -> int:
    counts = requests.get(live_server.url + "/sandbox/tiktok/_control/requests", timeout=5).json()["counts"]
    return sum(n for endpoint, n in counts.items() if "revoke" in endpoint)


def test_deletion_requests_are_reviewed_or_proven_with_tiktok(live_server):
    maya, ws_id = sign_in(live_server, *MAYA[:1], role=MAYA[1], password=MAYA[2])
    for handle in ("brassorbit3", "moontideco2"):
        assert "/performance" in connect_account(live_server, maya, ws_id, username=handle).url
    leo, _ = sign_in(live_server, LEO[0], role=LEO[1], password=LEO[2])
    assert "/performance" in connect_account(live_server, leo, ws_id, username="velvetharbor").url
    sign_in(live_server, ADMIN[0], role=ADMIN[1], password=ADMIN[2])
    staff, _ = sign_in(live_server, AGENCY[0], role=AGENCY[1], password=AGENCY[2])
    assert set(accounts_by_name(live_server).values()) == {"active"}

    # 1. A stranger names @brassorbit3 and confirms a mailbox they control: nothing is deleted.
    stranger, r = file_request(live_server, "@brassorbit3", "stranger@example.net")
    status = r.headers["Location"]
    confirm_mailbox(live_server, stranger, "stranger@example.net")
    page = stranger.get(live_server.url + status).text
    assert "Pending review" in page and "we will answer by" in page
    purge(live_server, minutes=5)
    purge(live_server, minutes=10)  # a second run tells nobody twice
    assert accounts_by_name(live_server)["brassorbit3"] == "active"
    told = sent_to(live_server)
    assert told[MAYA[0]] == 1 and told[ADMIN[0]] == 1 and told[AGENCY[0]] == 1  # owner, admin, agency: once each
    assert told[LEO[0]] == 0
    review = next(m for m in outbox(live_server) if m["To"] == MAYA[0])
    assert review["Subject"] == "Data-deletion request for @brassorbit3 needs review"

    # 2. An agency user rejects it with a reason; the requester's page and email say so.
    first_id = request_id(live_server, status)
    reason = "Maya, who connected @brassorbit3, still uses it and did not ask for this."
    assert decide(live_server, staff, first_id, "reject", reason=reason).status_code == 303
    page = stranger.get(live_server.url + status).text
    assert "Rejected" in page and "still uses it and did not ask for this." in page
    rejected = [m for m in outbox(live_server)  # (outbox files sort by the second only, so pick by subject)
                if m["To"] == "stranger@example.net" and m["Subject"] == "Your data-deletion request was rejected"]
    assert len(rejected) == 1 and reason in text_of(rejected[0])
    # Signing in with another TikTok account proves nothing: it says so, and nothing changes.
    landed = consent_as(live_server, stranger,
                        stranger.post(live_server.url + status + "/tiktok", allow_redirects=False,
                                      data={"csrf_token": csrf(page)}), "impostor99")
    assert "did not match the account named in this request" in landed.text
    purge(live_server, minutes=15)
    assert accounts_by_name(live_server)["brassorbit3"] == "active"

    # 3. A second request, approved by an agency user: the next purge deletes the account.
    second, r = file_request(live_server, "moontideco2", "second@example.net")
    second_status = r.headers["Location"]
    confirm_mailbox(live_server, second, "second@example.net")
    assert decide(live_server, staff, request_id(live_server, second_status), "approve").status_code == 303
    assert accounts_by_name(live_server)["moontideco2"] == "disconnected"
    result = purge(live_server, minutes=20)
    assert result.counts["connections_purged"] == 1
    assert "moontideco2" not in accounts_by_name(live_server)
    assert "has been deleted" in second.get(live_server.url + second_status).text

    # 4. The owner of @velvetharbor still has the TikTok account: "Verify with TikTok" on the
    #    form skips the review, and the next purge deletes it without any staff decision.
    owner, r = file_request(live_server, "velvetharbor", "owner@example.net", method="tiktok")
    before = revokes(live_server)
    landed = consent_as(live_server, owner, r, "velvetharbor")
    assert "TikTok confirmed the account is yours" in landed.text
    assert revokes(live_server) == before + 2  # the account's own grant, and the check's token
    result = purge(live_server, minutes=25)
    assert result.counts["connections_purged"] == 1
    assert accounts_by_name(live_server) == {"brassorbit3": "active"}
    assert "has been deleted" in owner.get(landed.url).text
    with live_server.app.app_context():
        statuses = dict(db.session.execute(sa.select(DeletionRequest.id, DeletionRequest.status)).all())
        db.session.remove()
    assert statuses[first_id] == "rejected" and sorted(statuses.values()) == ["completed", "completed", "rejected"]
