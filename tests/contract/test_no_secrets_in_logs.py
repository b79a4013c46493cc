"""A full flow against the live sandbox, every logger at DEBUG: no token, secret, code or verifier
text in any log record or exception message."""
from __future__ import annotations

import datetime as dt
import logging

import pytest

from app.tiktok import InvalidGrant, RateLimited, TikTokError, TokenInvalid
from app.tiktok.client import insight_fields_for


def test_full_sandbox_flow_logs_no_secret_text(sandbox_leg, caplog):
    caplog.set_level(logging.DEBUG)  # root: every logger, urllib3's request lines included
    leg, client = sandbox_leg, sandbox_leg.client
    errors: list[TikTokError] = []

    def expect(error_class, fn, *args, **kwargs):
        with pytest.raises(error_class) as caught:
            fn(*args, **kwargs)
        errors.append(caught.value)

    first = leg.connect()
    tokens = leg.track(client.refresh(first.refresh_token))
    expect(InvalidGrant, client.refresh, first.refresh_token)  # reuse: kills the grant
    tokens = leg.connect()
    client.token_info(tokens.access_token)  # the access token travels in this POST's JSON body
    client.get_business_profile(tokens.access_token, tokens.open_id, fields=insight_fields_for(tokens.scopes),
                                start_date=leg.today - dt.timedelta(days=6), end_date=leg.today)
    videos = list(client.iter_videos(tokens.access_token, tokens.open_id))
    client.list_videos(tokens.access_token, tokens.open_id, video_ids=[v.item_id for v in videos[:5]])
    leg.inject("business/get/", "rate_limit")
    expect(RateLimited, client.get_business_profile, tokens.access_token, tokens.open_id)

    ads = client.ads_exchange(leg.ads_code())
    leg.remember(ads.access_token)
    advertiser_id = ads.advertiser_ids[0]
    client.list_advertisers(ads.access_token)  # the app secret travels in this GET's query string
    spark = client.list_spark_ads(ads.access_token, advertiser_id)
    client.ads_daily_report(ads.access_token, advertiser_id, leg.today - dt.timedelta(days=29), leg.today,
                            ad_ids=[ad.ad_id for ad in spark])

    client.revoke(tokens.access_token)
    expect(TokenInvalid, client.get_business_profile, tokens.access_token, tokens.open_id)  # via token_info
    expect(TokenInvalid, client.token_info, tokens.access_token)
    expect(InvalidGrant, client.refresh, tokens.refresh_token, access_token=tokens.access_token)

    # The sandbox server's own access log ("werkzeug") is TikTok's side of the wire, not our process
    # in production; everything else captured here is ours (app.tiktok, urllib3, requests).
    ours = [r for r in caplog.records if not r.name.startswith("werkzeug")]
    names = {r.name for r in ours}
    assert "app.tiktok" in names and any(n.startswith("urllib3") for n in names), names
    assert any("oauth2/advertiser/get/" in r.getMessage() for r in ours if r.name.startswith("urllib3"))

    secrets = sorted(set(leg.secrets), key=len, reverse=True)
    assert len(secrets) >= 9  # 2 app secrets, verifiers, codes, access + refresh tokens, ads code + token
    texts = [f"{r.name}: {r.getMessage()} {r.exc_text or ''}" for r in ours]
    texts += [f"{type(e).__name__}: {e} {e!r} {e.message}" for e in errors]
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"secret text ({secret[:4]}…) leaked into: {text[:200]}"
