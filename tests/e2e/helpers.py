"""Drive our app and the sandbox over real HTTP, like a browser without JavaScript."""
from __future__ import annotations

import re

import requests

from app.extensions import db
from app.services import accounts


def csrf(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def sign_in(live_server, email="maya@brass.studio", role="creator", password="demo-maya-pass"):
    """Create the person (in workspace Brass Studio) and return a signed-in session and the workspace id."""
    with live_server.app.app_context():
        ws = accounts.get_or_create_workspace("Brass Studio")
        accounts.create_user(email, role=role, workspace=ws, password=password)
        db.session.commit()
        ws_id = ws.id
    s = requests.Session()
    token = csrf(s.get(live_server.url + "/login").text)
    r = s.post(live_server.url + "/login", data={"csrf_token": token, "email": email, "password": password})
    assert r.ok
    return s, ws_id


def connect_account(live_server, s, ws_id, username="brassorbit3", untick=()):
    """Connect → sandbox consent → grant → callback. Returns the final response."""
    token = csrf(s.get(live_server.url + "/settings/integrations").text)
    r = s.post(live_server.url + "/tiktok/auth/connect", data={"csrf_token": token, "workspace_id": ws_id},
               allow_redirects=False)
    consent = s.get(r.headers["Location"])
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', consent.text))
    scopes = [sc for sc in re.findall(r'name="scope" value="([^"]+)" checked', consent.text) if sc not in untick]
    return s.post(live_server.url + "/sandbox/tiktok/v2/auth/authorize/decide",
                  data={**hidden, "username": username, "action": "grant", "scope": scopes})


def link_ads(live_server, s, ws_id, username="brassorbit3"):
    """Link `username`'s advertiser through the sandbox's Marketing API consent."""
    token = csrf(s.get(live_server.url + "/settings/integrations").text)
    r = s.post(live_server.url + "/tiktok/ads/connect", data={"csrf_token": token, "workspace_id": ws_id},
               allow_redirects=False)
    consent = s.get(r.headers["Location"])
    nonce = re.search(r'name="nonce" value="([^"]+)"', consent.text).group(1)
    landed = s.post(live_server.url + "/sandbox/tiktok/portal/auth/decide",
                    data={"nonce": nonce, "accounts": username, "action": "grant"})
    assert landed.ok and "Linked TikTok Ads account" in landed.text, landed.text[:500]
