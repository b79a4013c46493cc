"""Sync under TikTok's app-wide rate limit: a 40100 is waited out (Retry-After) and the
same call repeated, so no page is fetched twice and the next connection does not burn
a request on a limit that has not reset (bench/run.py "sync" measures the effect)."""
from datetime import timedelta

from app.services import token_sealing
from app.tiktok import get_client
from app.workflows import sync
from tests.integration.test_refresh_sync import NOW, register_data, sealed_connection
from tests.tiktok_fixtures import BUSINESS, load

LIMITED = {"json": {"code": 40100, "message": "limit", "request_id": "r", "data": {}}, "headers": {"Retry-After": "7"}}


def sync_once(app, conn, waits):
    return sync.sync_connection(conn.id, client=get_client(app), keyring=token_sealing.get_keyring(app), now=NOW,
                                sleep=waits.append)


def test_a_rate_limited_page_is_waited_out_and_fetched_once_more(app, people, requests_mock):
    conn = sealed_connection(app, people.workspace, people.creator, expires_in=86400)
    register_data(requests_mock)
    page = load("video_list_page1")
    page["data"]["has_more"] = False
    videos = requests_mock.get(BUSINESS + "business/video/list/", [LIMITED, {"json": page}])
    waits = []
    outcome = sync_once(app, conn, waits)
    assert outcome.status == "synced" and outcome.posts == len(page["data"]["videos"])
    assert waits == [7.0]
    assert videos.call_count == 2
    assert requests_mock.request_history[0].path.endswith("business/get/")  # fetched once, not again
    assert sum(r.path.endswith("business/get/") for r in requests_mock.request_history) == 1


def test_a_limit_longer_than_the_budget_gives_up_for_this_run(app, people, requests_mock):
    conn = sealed_connection(app, people.workspace, people.creator, expires_in=86400)
    register_data(requests_mock)
    requests_mock.get(BUSINESS + "business/get/", [LIMITED] * 20)
    app.config["SYNC_RATE_LIMIT_WAIT_SECONDS"] = 20
    waits = []
    outcome = sync_once(app, conn, waits)
    assert outcome.status == "rate_limited" and waits == [7.0, 7.0]  # a third wait would pass 20 s
    assert conn.next_sync_at == NOW + timedelta(seconds=7)
