"""Link a TikTok Ads advertiser account (Marketing API): start (POST), callback (GET),
choose the advertiser (POST). Logic in services/oauth_flows; admins only."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from app.crypto import CryptoError
from app.extensions import db
from app.services import access, oauth_flows
from app.services.token_sealing import get_keyring
from app.tiktok import get_client
from app.web.ids import optional_id
from app.web.oauth_flow import no_referrer as _no_referrer
from app.web.oauth_flow import now as _now
from app.web.oauth_flow import session_ref as _session_ref

bp = Blueprint("tiktok_ads", __name__)


@bp.post("/tiktok/ads/connect")
@login_required
def connect():
    ws = access.workspace_or_404(current_user, optional_id(request.form, "workspace_id"))
    access.require_manager(current_user, ws.id)
    try:
        url = oauth_flows.begin_connect(current_user, ws, provider=oauth_flows.PROVIDER_ADS,
                                        session_ref=_session_ref(), client=get_client(current_app),
                                        keyring=get_keyring(current_app), now=_now())
    except oauth_flows.ConnectError as e:
        return _failed(e, current_user, ws.id)
    db.session.commit()
    return redirect(url, 302)  # a plain form post: the whole browser goes to TikTok


@bp.get("/tiktok/ads/callback")
def callback():
    return _finish(oauth_flows.PROVIDER_ADS, request.args.get("state"), lambda pending, user: (
        oauth_flows.finish_ads_link(pending, request.args, user=user, session_ref=session["oauth_ref"],
                                    client=get_client(current_app), keyring=get_keyring(current_app),
                                    now=_now())))


@bp.post("/tiktok/ads/advertiser")
@login_required
def choose_advertiser():
    return _finish(oauth_flows.PROVIDER_ADS_CHOICE, request.form.get("choice"), lambda pending, user: (
        oauth_flows.choose_advertiser(pending, request.form.get("advertiser_id"), user=user,
                                      client=get_client(current_app), keyring=get_keyring(current_app),
                                      now=_now())))


def _finish(provider: str, state: str | None, step):
    """Spend the transaction first, check it is this session's, then run `step`."""
    user = current_user if current_user.is_authenticated else None
    pending = None
    try:
        pending = oauth_flows.take_transaction(state, provider=provider)
        db.session.commit()  # single use, whatever happens next
        oauth_flows.verify_pending(pending, session_ref=session.get("oauth_ref"), user=user, now=_now())
        result = step(pending, user)
    except (oauth_flows.ConnectError, CryptoError) as e:
        return _failed(e, user, pending.workspace_id if pending else None)
    db.session.commit()
    if isinstance(result, oauth_flows.AdsChoice):
        return _no_referrer(render_template("tiktok/ads_choose.html", choice=result))
    flash(f"Linked TikTok Ads account {result.name} ({result.advertiser_id}). Its Spark Ads figures appear "
          "after the next sync.", "success")
    return _no_referrer(redirect(url_for("integrations.index", workspace=result.workspace_id), 303))


def _failed(error, user, workspace_id: int | None):
    db.session.rollback()
    oauth_flows.safe_audit_failure(error, user=user, workspace_id=workspace_id, flow="ads_link")
    db.session.commit()
    if isinstance(error, oauth_flows.AccessDenied):
        flash(error.message, "warning")
        return _no_referrer(redirect(url_for("integrations.index"), 303))
    message = getattr(error, "message", "We could not finish linking the ads account. Nothing was linked.")
    return _no_referrer(render_template("tiktok/ads_failed.html", message=message), getattr(error, "status", 400))
