"""Two-factor sign-in with time-based one-time codes (RFC 6238), and the half-finished
sign-ins that wait for them.

- The secret (160 random bits, base32) is sealed like TikTok tokens (AES-256-GCM
  envelope, `app/crypto`) with associated data naming the user row, so a value copied
  to another user's row does not open. It is shown once while enrolling (as a QR code
  drawn on our own page and as text) and is never sent anywhere.
- Enrolling stores the secret with `totp_enabled_at` unset; a correct code turns it on
  and makes ten recovery codes, shown once and stored as salted SHA-256 digests (they
  carry about 50 random bits each, and the second step is rate-limited, so a slow hash would
  only slow down the person signing in). Each works once.
- A code is accepted for the current 30-second step or one step either side (clock
  drift), and only for a step later than the last one accepted: the stored step moves
  forward in one conditional UPDATE, so two requests racing with one code cannot both win.
- A sign-in whose password step passed gets a `SignInChallenge`: the browser's session
  holds a random reference (only its digest is stored), valid CHALLENGE_TTL, used once.
  Nothing is signed in until the second step passes.

Services never commit: the caller owns the unit of work.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import pyotp
import segno
import sqlalchemy as sa
from markupsafe import Markup
from sqlalchemy.orm.attributes import set_committed_value

from app.crypto import open_sealed, seal
from app.extensions import db
from app.models import RecoveryCode, SignInChallenge, User, Workspace
from app.services import access

ISSUER = "Logic Target"
STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1  # accept the step before and after the current one
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
_RECOVERY_LENGTH = 10
CHALLENGE_TTL = timedelta(minutes=10)


class TwoFactorError(Exception):
    """A refused two-factor action; `message` is safe to show."""

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.message = message
        self.reason = reason


# --------------------------------------------------------------------------- codes


def time_step(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def code_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (within the drift window) whose code `code` is, else None. Pure."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    current = time_step(now)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(code_at(secret, step), code):  # try every step: no early exit
            found = step if found is None else found
    return found


def looks_like_totp(code: str) -> bool:
    code = "".join(code.split())
    return len(code) == DIGITS and code.isascii() and code.isdigit()


# --------------------------------------------------------------------------- secret


def _secret_aad(user_id: int) -> bytes:
    return f"totp-secret:{user_id}".encode()


def secret_aad(row) -> bytes:
    """The associated data of a user row's sealed secret (used by `flask keys rotate`)."""
    return _secret_aad(row.id)


def _open_secret(user: User, *, keyring) -> str:
    if user.totp_secret_sealed is None:
        raise LookupError(f"user {user.id} has no two-factor secret")
    return open_sealed(user.totp_secret_sealed, aad=_secret_aad(user.id), keyring=keyring)


def begin_enrollment(user: User, *, keyring) -> str:
    """Give `user` a new secret, not yet in force (a code must confirm it). Returns it."""
    if user.two_factor_enabled:
        raise TwoFactorError("Two-factor sign-in is already on.", reason="already_on")
    secret = pyotp.random_base32()  # 32 base32 characters, 160 bits from `secrets`
    user.totp_secret_sealed = seal(secret, aad=_secret_aad(user.id), keyring=keyring)
    user.totp_last_step = None
    return secret


def pending_secret(user: User, *, keyring) -> str | None:
    """The secret being enrolled (not yet on), to show as a QR code and text; else None."""
    if user.two_factor_enabled or user.totp_secret_sealed is None:
        return None
    return _open_secret(user, keyring=keyring)


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> Markup:
    """The QR code as inline SVG: drawn here, so the secret never leaves our origin, and
    made of presentation attributes only, so it renders under `style-src 'self'`."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=5, border=4, dark="#111827", light="#ffffff", svgclass="qr-code", lineclass=None,
        title="QR code for your authenticator app")
    return Markup(svg.replace("<svg ", '<svg role="img" aria-label="QR code for your authenticator app" ', 1))


def group_secret(secret: str) -> str:
    """"ABCDEFGH…" -> "ABCD EFGH …", easier to type into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def _claim_step(user: User, step: int) -> bool:
    """Move the user's last accepted step forward to `step`; False if it is not later (reuse)."""
    result = db.session.execute(
        sa.update(User)
        .where(User.id == user.id, sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    set_committed_value(user, "totp_last_step", step)
    return True


def verify_code(user: User, code: str, *, keyring, now: datetime) -> str:
    """Check a TOTP code for a user whose secret is set. Returns "ok", "wrong" or "reused"."""
    step = matching_step(_open_secret(user, keyring=keyring), code, now)
    if step is None:
        return "wrong"
    return "ok" if _claim_step(user, step) else "reused"


def confirm_enrollment(user: User, code: str, *, keyring, now: datetime) -> list[str]:
    """Turn two-factor on once `code` proves the app has the secret. Returns the new
    recovery codes (plaintext, to show once)."""
    if user.two_factor_enabled:
        raise TwoFactorError("Two-factor sign-in is already on.", reason="already_on")
    if user.totp_secret_sealed is None:
        raise TwoFactorError("Start setting up two-factor sign-in first.", reason="not_started")
    if verify_code(user, code, keyring=keyring, now=now) != "ok":
        raise TwoFactorError("That code didn't match. Check the time on your phone and try the newest code.",
                             reason="wrong_code")
    user.totp_enabled_at = now
    return new_recovery_codes(user, now=now)


def disable(user: User) -> None:
    """Turn two-factor off: forget the secret, the last step and every recovery code.
    The caller has checked the password and a current code."""
    user.totp_secret_sealed = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


# --------------------------------------------------------------------- recovery codes


def _normalise_recovery(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _digest(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def new_recovery_codes(user: User, *, now: datetime) -> list[str]:
    """Replace the user's recovery codes with ten new ones; returns them as shown ("abcde-fghjk")."""
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    shown = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        salt = secrets.token_hex(16)
        db.session.add(RecoveryCode(user_id=user.id, salt=salt, code_hash=_digest(salt, raw), created_at=now))
        shown.append(f"{raw[:5]}-{raw[5:]}")
    db.session.flush()
    return shown


def use_recovery_code(user: User, code: str, *, now: datetime) -> bool:
    """Spend one unused recovery code; False if none matches (or it was just spent)."""
    raw = _normalise_recovery(code)
    if len(raw) != _RECOVERY_LENGTH:
        return False
    unused = db.session.execute(
        sa.select(RecoveryCode.id, RecoveryCode.salt, RecoveryCode.code_hash)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ).all()
    match = None
    for row in unused:
        if hmac.compare_digest(_digest(row.salt, raw), row.code_hash):
            match = row.id
    if match is None:
        return False
    result = db.session.execute(
        sa.update(RecoveryCode).where(RecoveryCode.id == match, RecoveryCode.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0


def check_second_factor(user: User, code: str, *, keyring, now: datetime) -> str:
    """A sign-in's second step: a six-digit code from the app, or else a recovery code.
    Returns "totp", "recovery", "reused" (a code already used) or "wrong"."""
    if not user.two_factor_enabled:
        return "wrong"
    if looks_like_totp(code):
        outcome = verify_code(user, code, keyring=keyring, now=now)
        return "totp" if outcome == "ok" else outcome
    return "recovery" if use_recovery_code(user, code, now=now) else "wrong"


# --------------------------------------------------------------------- requirement


def requiring_workspaces(user: User) -> list[Workspace]:
    """The workspaces `user` can see that require two-factor sign-in. Agency staff see
    every workspace, so every workspace's requirement applies to them. (Read from the
    request's memo of visible workspaces, which the page chrome loads anyway.)"""
    return [ws for ws in access.visible_workspaces(user) if ws.require_two_factor]


def setup_required(user: User) -> bool:
    """True when a workspace requires two-factor sign-in and `user` has not turned it on."""
    return not user.two_factor_enabled and bool(requiring_workspaces(user))


def set_requirement(workspace: Workspace, required: bool, *, by: User) -> None:
    """Turn the workspace's requirement on or off. Whoever turns it on must have
    two-factor on themselves (else their very next request would be refused)."""
    if required and not by.two_factor_enabled:
        raise TwoFactorError("Turn on two-factor sign-in for your own account first.", reason="own_not_on")
    workspace.require_two_factor = required


# --------------------------------------------------------------------- challenges


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_challenge(user: User, *, purpose: str, next_url: str | None, now: datetime) -> str:
    """Record a sign-in waiting for its second step; returns the reference for the session.
    Expired challenges (anyone's) are cleared on the way."""
    db.session.execute(sa.delete(SignInChallenge).where(SignInChallenge.expires_at < now))
    token = secrets.token_urlsafe(32)
    db.session.add(SignInChallenge(token_hash=_token_hash(token), user_id=user.id, purpose=purpose,
                                   next_url=next_url, created_at=now, expires_at=now + CHALLENGE_TTL))
    db.session.flush()
    return token


def find_challenge(token: object, *, now: datetime) -> SignInChallenge | None:
    """The live challenge the session's reference points to, else None."""
    if not isinstance(token, str) or not token or len(token) > 100:
        return None
    challenge = db.session.scalar(sa.select(SignInChallenge).where(SignInChallenge.token_hash == _token_hash(token)))
    if challenge is None or challenge.expires_at <= now:
        return None
    return challenge


def end_challenge(challenge: SignInChallenge) -> bool:
    """Use the challenge up. False if another request already did (a race)."""
    result = db.session.execute(sa.delete(SignInChallenge).where(SignInChallenge.id == challenge.id)
                                .execution_options(synchronize_session=False))
    return result.rowcount == 1
