"""Members and invites of a workspace, and accepting an invite.

`/settings/members` is for agency staff and the workspace's client admins (creators get
403, outsiders 404, as everywhere). Actions answer htmx with the updated list partial
plus an HX-Trigger toast, and plain form posts with a 303 back to the page. Inviting
and resending send mail, so both share a per-user rate limit.

`/invites/<token>` is public: the token is the capability (its URL variable is named
`token`, so the log redaction masks it). GET only shows what the link offers (mail
scanners open links); POST accepts. A creator lands on "Connect your TikTok" for the
workspace, so one email takes them from nothing to a connected account.
Logic lives in app/services/invites.py and app/services/members.py.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from flask import Blueprint, flash, make_response, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.exceptions import Conflict, Forbidden, NotFound

from app.extensions import db, limiter
from app.models.workspace import ROLE_CREATOR
from app.services import access, audit, invites, mail, members
from app.web.context import current_workspace, use_workspace, workspace_scoped
from app.web.htmx import is_fragment_request, partial_response, redirect_after_action
from app.web.ids import optional_id

bp = Blueprint("members", __name__)
log = logging.getLogger("app.web.members")

MEMBERS_LIST = "members/_members_list.html"
INVITES_LIST = "members/_invites_list.html"
INVITE_FORM = "members/_invite_form.html"
# Invites and resends send mail: per signed-in user, generous for onboarding a roster.
INVITE_MAIL_LIMIT = "60 per hour"


def _per_user() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else get_remote_address()


invite_mail_limit = limiter.shared_limit(INVITE_MAIL_LIMIT, scope="invite-mail", key_func=_per_user)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _managed_workspace():
    ws = current_workspace()
    if ws is None:
        raise NotFound()
    access.require_manager(current_user, ws.id)
    return ws


def _context(ws, **extra) -> dict:
    context = {"ws": ws, "members": members.list_members(ws), "invites": invites.open_invites(ws), "now": _now(),
               "roles": invites.invitable_roles(current_user, ws.id), "role_labels": invites.ROLE_LABELS,
               "form": {"email": "", "role": ROLE_CREATOR}, "errors": {}}
    context.update(extra)
    return context


@bp.get("/settings/members")
@workspace_scoped
@login_required
def index():
    return render_template("members/index.html", **_context(_managed_workspace()))


@bp.post("/settings/members/invites")
@invite_mail_limit
@login_required
def invite():
    ws = access.workspace_or_404(current_user, optional_id(request.form, "workspace_id"))
    access.require_manager(current_user, ws.id)
    form = {"email": request.form.get("email", "")[:300], "role": request.form.get("role", "")[:20]}
    try:
        inv, token = invites.create_invite(ws, form["email"], form["role"], inviter=current_user, now=_now(),
                                           ip=request.remote_addr)
    except invites.InviteError as e:
        db.session.rollback()
        context = _context(ws, form=form, errors={e.field: e.message})
        if is_fragment_request():
            return partial_response(INVITE_FORM, status=e.status, **context)
        return render_template("members/index.html", **context), e.status
    db.session.commit()
    level, message = _send(inv, token, ws, f"Invited {inv.email} as {invites.ROLE_LABELS[inv.role].lower()}.")
    if is_fragment_request():
        return partial_response(INVITE_FORM, notify=(level, message), events={"invites-changed": None},
                                **_context(ws))
    flash(message, level)
    return redirect_after_action(url_for("members.index", workspace=ws.id))


@bp.post("/settings/members/invites/<id:invite_id>/resend")
@invite_mail_limit
@login_required
def resend_invite(invite_id: int):
    inv = _handled_invite(invite_id)
    ws = inv.workspace
    try:
        token = invites.resend(inv, actor=current_user, now=_now(), ip=request.remote_addr)
    except invites.InviteError as e:
        db.session.rollback()
        raise Conflict(e.message) from None
    db.session.commit()
    level, message = _send(inv, token, ws, f"Sent a new invitation to {inv.email}; the earlier link no longer works.")
    return _answer(INVITES_LIST, ws, level, message)


@bp.post("/settings/members/invites/<id:invite_id>/revoke")
@login_required
def revoke_invite(invite_id: int):
    inv = _handled_invite(invite_id)
    ws = inv.workspace
    try:
        invites.revoke(inv, actor=current_user, now=_now(), ip=request.remote_addr)
    except invites.InviteError as e:
        db.session.rollback()
        raise Conflict(e.message) from None
    db.session.commit()
    return _answer(INVITES_LIST, ws, "success", f"Withdrew the invitation to {inv.email}; its link no longer works.")


@bp.post("/settings/members/<id:membership_id>/role")
@login_required
def change_role(membership_id: int):
    m = access.membership_or_404(current_user, membership_id)
    ws, email = m.workspace, m.user.email
    try:
        changed = members.change_role(m, request.form.get("role", "")[:20], actor=current_user,
                                      ip=request.remote_addr)
    except (members.LastAdminError, members.MemberError) as e:
        db.session.rollback()
        raise Conflict(e.message) from None
    db.session.commit()
    label = invites.ROLE_LABELS[m.role].lower()
    return _answer(MEMBERS_LIST, ws, "success", f"{email} is now {label}." if changed else f"{email} is {label} already.")


@bp.post("/settings/members/<id:membership_id>/remove")
@login_required
def remove_member(membership_id: int):
    m = access.membership_or_404(current_user, membership_id)
    ws, user = m.workspace, m.user
    try:
        members.remove(m, actor=current_user, ip=request.remote_addr)
    except members.LastAdminError as e:
        db.session.rollback()
        raise Conflict(e.message) from None
    db.session.commit()
    if user.id == current_user.id:  # removed oneself: this session has just ended too
        logout_user()
        session.clear()
        return redirect_after_action(url_for("auth.login"))
    return _answer(MEMBERS_LIST, ws, "success", f"Removed {user.email} from {ws.name}; they are signed out.")


def _handled_invite(invite_id: int):
    inv = access.invite_or_404(current_user, invite_id)
    if not invites.may_handle(current_user, inv):
        raise Forbidden("Only agency staff can change an invitation for agency staff.")
    return inv


def _send(inv, token: str, ws, sent_message: str) -> tuple[str, str]:
    """Mail the invite (after the commit: the link must work when it arrives)."""
    try:
        mail.send_one(invites.invite_message(inv, token, workspace=ws, inviter=current_user))
    except mail.MailError as e:
        log.warning("invite mail not sent invite=%s transient=%s error=%s", inv.id, e.transient, e)
        return "warning", (f"The invitation to {inv.email} is saved, but the email could not be sent just now. "
                           "Use Resend to try again.")
    return "success", sent_message


def _answer(partial: str, ws, level: str, message: str):
    if is_fragment_request():
        return partial_response(partial, notify=(level, message), **_context(ws))
    flash(message, level)
    return redirect_after_action(url_for("members.index", workspace=ws.id))


# ------------------------------------------------------------------ accepting an invite


def _private(body, status: int | None = None):
    """The link is a capability: never cached, and never sent to another site as a Referer
    (same-origin keeps it for our own CSRF check on HTTPS)."""
    resp = make_response(body) if status is None else make_response(body, status)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "same-origin"
    return resp


@bp.route("/invites/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute")
def accept(token: str):
    try:
        inv = invites.find_by_token(token, now=_now())
    except invites.InviteLinkError as e:
        return _private(render_template("members/invite_link.html", message=e.message),
                        404 if e.kind == "unknown" else 410)
    ws, account = inv.workspace, invites.account_for(inv)
    signed_in = current_user.is_authenticated
    page = {"inv": inv, "ws": ws, "token": token, "account": account,
            "role_label": invites.ROLE_LABELS[inv.role], "errors": {}, "name": ""}
    if account is not None and signed_in and current_user.id != account.id:
        return _private(render_template("members/invite_accept.html", wrong_account=True, **page), 403)
    if request.method == "GET":
        return _private(render_template("members/invite_accept.html", **page))
    if account is not None and not signed_in:  # sign in first; the page links there
        return _private(render_template("members/invite_accept.html", **page), 409)
    try:
        if account is None:
            name = request.form.get("name", "")[:120]
            user = invites.accept_new_account(inv, password=request.form.get("password", "")[:600],
                                              confirm=request.form.get("confirm", "")[:600], name=name,
                                              now=_now(), ip=request.remote_addr)
        else:
            user = current_user._get_current_object()
            invites.accept(inv, user, now=_now(), ip=request.remote_addr)
    except invites.InviteError as e:
        db.session.rollback()
        page.update(errors={e.field: e.message}, name=request.form.get("name", "")[:120])
        return _private(render_template("members/invite_accept.html", **page), e.status)
    except invites.InviteLinkError as e:  # taken meanwhile (another tab)
        db.session.rollback()
        return _private(render_template("members/invite_link.html", message=e.message), 410)
    if account is None:
        session.clear()  # a fresh session for the new account: nothing from before survives
        login_user(user)
        audit.record("login.succeeded", actor_id=user.id, ip=request.remote_addr, via="invite")
    db.session.commit()
    use_workspace(ws)
    flash(f"Welcome to {ws.name}.", "success")
    if inv.role == ROLE_CREATOR:
        return _private(redirect_after_action(url_for("members.connect_tiktok", workspace=ws.id)))
    return _private(redirect_after_action(url_for("performance.dashboard", workspace=ws.id)))


@bp.get("/welcome/connect-tiktok")
@workspace_scoped
@login_required
def connect_tiktok():
    """Where a creator's invite lands: one button to connect their TikTok account here."""
    ws = current_workspace()
    if ws is None:
        raise NotFound()
    return render_template("members/connect_tiktok.html", ws=ws)
