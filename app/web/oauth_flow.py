"""Pieces both OAuth flows (TikTok accounts and TikTok Ads) share in their routes."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import make_response, session

from app.services import oauth_flows


def now() -> datetime:
    return datetime.now(timezone.utc)


def session_ref() -> str:
    """A random reference the browser session holds; pending transactions store its hash."""
    if "oauth_ref" not in session:
        session["oauth_ref"] = oauth_flows.new_session_ref()
    return session["oauth_ref"]


def no_referrer(response, status=None):
    """Callback URLs carry a code: don't let the next page's requests leak it."""
    resp = make_response(response) if status is None else make_response(response, status)
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp
