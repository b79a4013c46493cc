"""Connect a TikTok account: start (POST), callback (GET). Logic in services/oauth_flows."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from app.crypto import CryptoError
from app.extensions import db
from app.services import access, oauth_flows, scope_effects
from app.services.deletion_requests import is_tiktok_check_state
from app.services.token_sealing import get_keyring
from app.tiktok import get_client
from app.web.ids import optional_id
from app.web.oauth_flow import no_referrer as _no_referrer
from app.web.oauth_flow import now as _now
from app.web.oauth_flow import session_ref as _session_ref
from app.web.public import tiktok_check_callback
from jobs.scheduler import wake

bp = Blueprint("tiktok_auth", __name__)


@bp.post("/tiktok/auth/connect")
@login_required
def connect():
    ws = access.workspace_or_404(current_user, optional_id(request.form, "workspace_id"))
    url = oauth_flows.begin_connect(current_user, ws, session_ref=_session_ref(), client=get_client(current_app),
                                    keyring=get_keyring(current_app), now=_now())
    db.session.commit()
    return redirect(url, 302)  # a plain form post: the whole browser goes to TikTok


@bp.get("/tiktok/auth/callback")
def callback():
    # TikTok allows one redirect URI: a data-deletion request's "Verify with TikTok" comes back here too.
    if is_tiktok_check_state(request.args.get("state")):
        return tiktok_check_callback()
    user = current_user if current_user.is_authenticated else None
    pending = None
    try:
        pending = oauth_flows.take_transaction(request.args.get("state"))
        db.session.commit()  # the state is spent before anything else, whatever happens next
        oauth_flows.verify_pending(pending, session_ref=session.get("oauth_ref"), user=user, now=_now())
        conn = oauth_flows.finish_connect(pending, request.args, user=user, client=get_client(current_app),
                                          keyring=get_keyring(current_app), now=_now())
    except (oauth_flows.ConnectError, CryptoError) as e:
        db.session.rollback()
        oauth_flows.safe_audit_failure(e, user=user, workspace_id=pending.workspace_id if pending else None)
        db.session.commit()
        if isinstance(e, oauth_flows.AccessDenied):
            flash(e.message, "warning")
            return redirect(url_for("integrations.index"), 303)
        message = getattr(e, "message", "We could not finish connecting. Nothing was connected.")
        return _no_referrer(render_template("tiktok/connect_failed.html", message=message),
                            getattr(e, "status", 400))
    db.session.commit()
    missing = scope_effects.not_granted(current_app.config["TIKTOK_SCOPES"], conn.scopes)
    if missing:
        # Unticked on TikTok's consent page: say so on the landing page, not only on the tiles.
        flash({"username": conn.username, "workspace_id": conn.workspace_id,
               "missing": [[e.scope, e.permission, e.missing] for e in missing]}, "scopes")
    wake(current_app, "sync")  # the first sync runs at once when a scheduler serves this process
    return _no_referrer(redirect(url_for("performance.dashboard", workspace=conn.workspace_id, account=conn.id,
                                         connected=conn.username), 302))
