"""Login Kit consent page and the Accounts API token endpoints (tt_user/oauth2/*, tt_user/token_info/get/).

Strict where TikTok is: exact redirect_uri, single-use codes, the lowercase-hex S256 PKCE challenge
of TikTok's own SDKs, JSON token bodies with client_id/client_secret.
"""
from __future__ import annotations

import re
from urllib.parse import urlencode

from flask import Response, render_template, request

from .responses import RateLimited, json_body, ok, state
from .state import INVALID_CLIENT, INVALID_PARAMS, TOKEN_EXPIRED, TOKEN_INVALID, SandboxError

APP_NAME = "Logic Target"
LEGAL_ENTITY = "Logic Target Ltd."
# Shown on the consent page; quietfern7 has fewer than 100 followers (no demographics).
DEMO_USERNAMES = ["brassorbit3", "moontideco2", "quietfern7"]
USERNAME_RE = re.compile(r"[a-z0-9._]{2,24}")

SCOPE_LABELS = {
    "user.info.basic": "Read your profile info (avatar, display name)",
    "user.info.username": "Read your username",
    "user.info.profile": "Read your bio, profile link and verification status",
    "user.info.stats": "Read your follower, following, like and video counts",
    "user.account.type": "Know whether your account is a Business account",
    "user.insights": "Read your account's daily analytics",
    "video.list": "Read your public videos and their basic stats",
    "video.insights": "Read your videos' analytics (watch time, watch-through, reach)",
    "biz.spark.auth": "Authorize your posts for Spark Ads",
    "comment.list": "Read comments on your videos",
}


def redirect_to(url: str, params: dict) -> Response:
    # Built by hand: the Location must carry exactly one layer of percent-encoding.
    sep = "&" if "?" in url else "?"
    return Response(status=302, headers={"Location": url + sep + urlencode(params)})


def error_page(params: list[str], message: str | None = None) -> tuple[str, int]:
    return render_template("sandbox/error.html", params=params, message=message), 400


def authorize():
    if request.method == "POST":
        return decide()
    s = state().settings
    args = request.args
    bad = []
    if args.get("client_key") != s.client_key:
        bad.append("client_key")
    if args.get("response_type") != "code":
        bad.append("response_type")
    scopes = list(dict.fromkeys(args.get("scope", "").split(",")))
    if not args.get("scope") or any(sc not in s.scopes for sc in scopes):
        bad.append("scope")
    # Byte-exact, like TikTok: no normalisation of case, port, trailing slash or query.
    redirect_uri = args.get("redirect_uri", "")
    if redirect_uri not in s.redirect_uris:
        bad.append("redirect_uri")
    if not args.get("state"):
        bad.append("state")
    challenge, method = args.get("code_challenge"), args.get("code_challenge_method")
    if s.require_pkce or challenge or method:
        if not challenge:
            bad.append("code_challenge")
        if method != "S256":
            bad.append("code_challenge_method")
    if bad:
        return error_page(bad)
    pending = {"redirect_uri": redirect_uri, "state": args["state"], "scopes": scopes, "challenge": challenge}
    return consent_page(pending)


def consent_page(pending: dict, username: str = "brassorbit3", error: str | None = None, status: int = 200):
    # A fresh one-time nonce per rendering: the host's CSRF token cannot reach this form.
    nonce = state().new_nonce(pending)
    return (
        render_template(
            "sandbox/consent.html",
            app_name=APP_NAME,
            legal_entity=LEGAL_ENTITY,
            scopes=[(sc, SCOPE_LABELS.get(sc, sc)) for sc in pending["scopes"]],
            nonce=nonce,
            username=username,
            demo_usernames=DEMO_USERNAMES,
            error=error,
        ),
        status,
    )


def decide():
    st = state()
    pending = st.take_nonce(request.form.get("nonce", ""))
    if pending is None:
        return error_page([], "This consent request has expired or was already answered. Start again from the app.")
    if request.form.get("action") != "grant":
        return redirect_to(
            pending["redirect_uri"],
            {"error": "access_denied", "error_description": "The user denied the request.", "state": pending["state"]},
        )
    username = request.form.get("username", "").strip().lstrip("@").lower()
    if not USERNAME_RE.fullmatch(username):
        return consent_page(pending, username, "Enter a TikTok username (2–24 letters, digits, . or _).", 400)
    ticked = request.form.getlist("scope")
    granted = [sc for sc in pending["scopes"] if sc in ticked]
    if not granted:
        return consent_page(pending, username, "Tick at least one permission, or choose Deny.", 400)
    code = st.issue_code(
        redirect_uri=pending["redirect_uri"], challenge=pending["challenge"], scopes=granted, username=username
    )
    return redirect_to(pending["redirect_uri"], {"code": code, "scopes": ",".join(granted), "state": pending["state"]})


def _required(body: dict, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise SandboxError(INVALID_PARAMS, f"invalid_request: {name} is required.")
    return value


def token():
    body = json_body()
    st = state()
    st.check_client(body.get("client_id"), body.get("client_secret"))
    if body.get("grant_type") != "authorization_code":
        raise SandboxError(INVALID_PARAMS, "unsupported_grant_type: grant_type must be authorization_code.")
    verifier = body.get("code_verifier")
    return ok(
        st.exchange_code(
            auth_code=_required(body, "auth_code"),
            redirect_uri=_required(body, "redirect_uri"),
            code_verifier=verifier if isinstance(verifier, str) else None,
        )
    )


def refresh_token():
    body = json_body()
    st = state()
    st.check_client(body.get("client_id"), body.get("client_secret"))
    if body.get("grant_type") != "refresh_token":
        raise SandboxError(INVALID_PARAMS, "unsupported_grant_type: grant_type must be refresh_token.")
    return ok(st.refresh(_required(body, "refresh_token")))


def revoke():
    body = json_body()
    st = state()
    st.check_client(body.get("client_id"), body.get("client_secret"))
    st.revoke(_required(body, "access_token"))
    return ok({})


def token_info():
    """Is this access token alive, whose is it, what may it do (`app_id`, `creator_id`, `scope`)?

    A dead token (unknown, revoked, expired) answers TOKEN_INVALID; the call counts toward the
    app-wide and the per-account rate limits like any data call.
    """
    body = json_body()
    st = state()
    if body.get("app_id") != st.settings.client_key:
        raise SandboxError(INVALID_CLIENT, "invalid_client: app_id is wrong.")
    token = _required(body, "access_token")
    buckets = [("app", st.settings.app_qpm)]
    open_id = st.open_id_of_access_token(token)
    if open_id:
        buckets.append((f"account:{open_id}:tt_user/token_info/get/", st.settings.per_account_qpm))
    retry = st.hit(buckets)
    if retry:
        raise RateLimited(retry)
    try:
        grant = st.grant_for_access_token(token)
    except SandboxError as e:
        if e.code == TOKEN_EXPIRED:
            raise SandboxError(TOKEN_INVALID, "Access token is invalid: it has expired.") from None
        raise
    return ok({"app_id": st.settings.client_key, "creator_id": grant["open_id"], "scope": ",".join(grant["scopes"])})


ROUTES = [
    ("/v2/auth/authorize/", "authorize", authorize, ["GET", "POST"]),
    ("/v2/auth/authorize/decide", "authorize_decide", decide, ["POST"]),
    ("/open_api/v1.3/tt_user/oauth2/token/", "token", token, ["POST"]),
    ("/open_api/v1.3/tt_user/oauth2/refresh_token/", "refresh_token", refresh_token, ["POST"]),
    ("/open_api/v1.3/tt_user/oauth2/revoke/", "revoke", revoke, ["POST"]),
    ("/open_api/v1.3/tt_user/token_info/get/", "token_info", token_info, ["POST"]),
]
