"""A workspace's brand on its reports: logo, accent colour, the sender's display name and
reply-to address (and whether report emails carry the PDF). The web report page, the
email and the PDF all read it through `brand_of`.

Checks, each refused with the reason:
- Logo: PNG or JPEG only, recognised by its first bytes (never by the file's name or the
  browser's Content-Type), at most LOGO_MAX_BYTES, fully decoded by Pillow (a file that
  only starts like a PNG is refused), between LOGO_MIN_SIDE and LOGO_MAX_SIDE pixels a
  side. SVG is refused outright: it can carry scripts and external references.
- Accent colour: "#rrggbb" whose contrast with white is at least 4.5:1 (WCAG 2 AA for
  normal text), because reports print white text on it (buttons) and accent-coloured
  text on white; a lighter colour is refused with its ratio.
- Sender name: shown as the From display name; the address stays ours (MAIL_DEFAULT_
  SENDER's), so SPF/DKIM still pass. No "@" in it, so it cannot pose as another address.
- Reply-to: an address like the recipients' (report_recipients.normalise).

Nothing here commits: the views own the transaction.
"""
from __future__ import annotations

import base64
import hashlib
import io
import re
from dataclasses import dataclass
from email.utils import parseaddr

import sqlalchemy as sa
from PIL import Image, UnidentifiedImageError

from app.extensions import db
from app.models import User, Workspace, WorkspaceBrand, utcnow
from app.services import audit, report_recipients

DEFAULT_ACCENT = "#d1193e"  # Logic Target's pink, darkened to 5.4:1 on white
MIN_CONTRAST = 4.5
LOGO_MAX_BYTES = 512 * 1024
LOGO_MIN_SIDE = 16
LOGO_MAX_SIDE = 2000
SENDER_NAME_MAX = 80
LOGO_CID = "brand-logo@logic-target"  # the Content-ID of the logo inside report emails
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
HEX_RE = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")


class BrandError(ValueError):
    """A brand setting refused; `field` names the form field, the message says why."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Brand:
    """What the report templates and emails need; defaults where nothing was set."""
    workspace_id: int
    accent: str = DEFAULT_ACCENT
    custom_accent: bool = False
    sender_name: str | None = None
    reply_to: str | None = None
    attach_pdf: bool = False
    logo_type: str | None = None
    logo_version: str | None = None  # the logo's SHA-256, in its URL so caches see a new logo at once
    logo_width: int | None = None
    logo_height: int | None = None

    @property
    def has_logo(self) -> bool:
        return self.logo_type is not None


def _row(workspace_id: int) -> WorkspaceBrand | None:
    return db.session.scalar(sa.select(WorkspaceBrand).where(WorkspaceBrand.workspace_id == workspace_id))


def brand_of(workspace_id: int) -> Brand:
    """The workspace's brand (the logo's bytes are not loaded)."""
    row = _row(workspace_id)
    if row is None:
        return Brand(workspace_id)
    return Brand(workspace_id, accent=row.accent_color or DEFAULT_ACCENT, custom_accent=row.accent_color is not None,
                 sender_name=row.sender_name, reply_to=row.reply_to, attach_pdf=row.attach_pdf,
                 logo_type=row.logo_type, logo_version=row.logo_sha256, logo_width=row.logo_width,
                 logo_height=row.logo_height)


def logo_of(workspace_id: int) -> tuple[bytes, str] | None:
    """(bytes, MIME type) of the workspace's logo, or None."""
    row = db.session.execute(sa.select(WorkspaceBrand.logo, WorkspaceBrand.logo_type)
                             .where(WorkspaceBrand.workspace_id == workspace_id)).first()
    if row is None or row.logo is None or row.logo_type is None:
        return None
    return bytes(row.logo), row.logo_type


def logo_data_uri(workspace_id: int) -> str | None:
    """The logo as a data: URI, for the PDF (which fetches nothing) and the email preview."""
    logo = logo_of(workspace_id)
    if logo is None:
        return None
    return f"data:{logo[1]};base64,{base64.b64encode(logo[0]).decode()}"


# ------------------------------------------------------------------ colour


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(hex_colour: str) -> float:
    """WCAG 2's relative luminance of "#rrggbb"."""
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(a: str, b: str = "#ffffff") -> float:
    """WCAG 2's contrast ratio (1 to 21) of two "#rrggbb" colours."""
    la, lb = relative_luminance(a), relative_luminance(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def parse_accent(value: str | None) -> str | None:
    """"#rrggbb" in lower case (also taking "#rgb" and a missing "#"), None when blank;
    BrandError when it is no colour or too light for white text on it."""
    value = (value or "").strip()
    if not value:
        return None
    m = HEX_RE.match(value)
    if not m:
        raise BrandError("accent_color", f"“{value[:20]}” is not a colour: use a hex code such as #1d4ed8.")
    digits = m.group(1).lower()
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    colour = "#" + digits
    ratio = contrast_ratio(colour)
    if ratio < MIN_CONTRAST:
        # Floor, not round: 4.47 must not read as "4.5:1" in a refusal.
        shown = int(ratio * 100) / 100
        raise BrandError("accent_color",
                         f"{colour} is too light: its contrast with white is {shown:.2f}:1, and reports put white "
                         f"text on the accent colour and accent text on white, which needs at least "
                         f"{MIN_CONTRAST}:1 to be readable (WCAG AA). Choose a darker shade.")
    return colour


# ------------------------------------------------------------------ logo


@dataclass(frozen=True)
class LogoInfo:
    mime: str
    width: int
    height: int


def check_logo(data: bytes) -> LogoInfo:
    """The logo's type and size in pixels, or BrandError saying what is wrong with it."""
    if not data:
        raise BrandError("logo", "Choose an image file to upload.")
    if len(data) > LOGO_MAX_BYTES:
        raise BrandError("logo", f"The logo is {len(data) / 1024:,.0f} KB; the limit is {LOGO_MAX_BYTES // 1024} KB. "
                                 "Export it smaller (a few hundred pixels wide is plenty).")
    head = data[:512].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in data[:4096].lower()):
        raise BrandError("logo", "SVG logos are not accepted (an SVG can carry scripts); upload a PNG or JPEG.")
    if data.startswith(PNG_MAGIC):
        mime, fmt = "image/png", "PNG"
    elif data.startswith(JPEG_MAGIC):
        mime, fmt = "image/jpeg", "JPEG"
    else:
        raise BrandError("logo", "This file is not a PNG or JPEG image (whatever its name says); "
                                 "upload the logo as a PNG or JPEG.")
    damaged = BrandError("logo", f"This file starts like a {fmt} image but is damaged or incomplete; "
                                 "export the logo again and upload that.")
    # Pillow decodes truncated files quietly once anything in the process (WeasyPrint does)
    # sets ImageFile.LOAD_TRUNCATED_IMAGES, so the end of the file is checked here too:
    # PNG's verify() reads every chunk's checksum up to IEND; a JPEG must end with EOI.
    if fmt == "JPEG" and not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise damaged
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != fmt:
                raise BrandError("logo", "This file is not a valid PNG or JPEG image.")
            width, height = img.size
            if not (LOGO_MIN_SIDE <= width <= LOGO_MAX_SIDE and LOGO_MIN_SIDE <= height <= LOGO_MAX_SIDE):
                raise BrandError("logo", f"The logo is {width}×{height} pixels; each side must be between "
                                         f"{LOGO_MIN_SIDE} and {LOGO_MAX_SIDE} pixels.")
            img.verify()
        with Image.open(io.BytesIO(data)) as img:
            img.load()  # decodes every pixel: a corrupt stream fails here
    except BrandError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise damaged from None
    return LogoInfo(mime, width, height)


# ------------------------------------------------------------------ changes


def _row_for_update(workspace: Workspace) -> WorkspaceBrand:
    row = _row(workspace.id)
    if row is None:
        row = WorkspaceBrand(workspace_id=workspace.id)
        db.session.add(row)
    return row


def set_logo(workspace: Workspace, data: bytes, *, by: User, ip: str | None = None) -> LogoInfo:
    """Store `data` as the workspace's logo after `check_logo`; nothing is stored if refused."""
    info = check_logo(data)
    row = _row_for_update(workspace)
    row.logo, row.logo_type, row.logo_width, row.logo_height = data, info.mime, info.width, info.height
    row.logo_sha256 = hashlib.sha256(data).hexdigest()
    row.updated_at = utcnow()
    db.session.flush()
    audit.record("brand.logo_set", actor_id=by.id, workspace_id=workspace.id, ip=ip, type=info.mime,
                 bytes=len(data), width=info.width, height=info.height)
    return info


def remove_logo(workspace: Workspace, *, by: User, ip: str | None = None) -> bool:
    row = _row(workspace.id)
    if row is None or row.logo_type is None:
        return False
    row.logo = row.logo_type = row.logo_width = row.logo_height = row.logo_sha256 = None
    row.updated_at = utcnow()
    db.session.flush()
    audit.record("brand.logo_removed", actor_id=by.id, workspace_id=workspace.id, ip=ip)
    return True


def parse_sender_name(value: str | None) -> str | None:
    value = " ".join((value or "").split())  # line breaks and runs of spaces become one space
    if not value:
        return None
    if len(value) > SENDER_NAME_MAX:
        raise BrandError("sender_name", f"The sender name is {len(value)} characters long; keep it to "
                                        f"{SENDER_NAME_MAX}.")
    if "@" in value or any(c in value for c in "<>\"") or not value.isprintable():
        raise BrandError("sender_name", "The sender name is shown as the name of the email's sender: use words "
                                        "only, without @, <, > or quotes (the address stays ours).")
    return value


def parse_reply_to(value: str | None) -> str | None:
    if not (value or "").strip():
        return None
    try:
        return report_recipients.normalise(value)
    except report_recipients.RecipientError as e:
        raise BrandError("reply_to", str(e)) from None


def update(workspace: Workspace, *, accent_color: str | None, sender_name: str | None, reply_to: str | None,
           attach_pdf: bool, by: User, ip: str | None = None) -> dict[str, str]:
    """Check every field, then save them all or nothing. Returns {field: reason} of the
    refused ones ({} when saved)."""
    errors: dict[str, str] = {}
    parsed = {}
    for field, parse, value in (("accent_color", parse_accent, accent_color),
                                ("sender_name", parse_sender_name, sender_name),
                                ("reply_to", parse_reply_to, reply_to)):
        try:
            parsed[field] = parse(value)
        except BrandError as e:
            errors[e.field] = str(e)
    if errors:
        return errors
    row = _row_for_update(workspace)
    changed = sorted(k for k, v in {**parsed, "attach_pdf": bool(attach_pdf)}.items() if getattr(row, k) != v)
    row.accent_color, row.sender_name, row.reply_to = parsed["accent_color"], parsed["sender_name"], parsed["reply_to"]
    row.attach_pdf = bool(attach_pdf)
    row.updated_at = utcnow()
    db.session.flush()
    if changed:
        audit.record("brand.updated", actor_id=by.id, workspace_id=workspace.id, ip=ip, fields=changed)
    return {}


# ------------------------------------------------------------------ email


def sender(brand: Brand, default_sender: str) -> str | tuple[str, str]:
    """The From of the workspace's report emails: our address (MAIL_DEFAULT_SENDER's), under
    the workspace's display name when it set one."""
    if not brand.sender_name:
        return default_sender
    return brand.sender_name, parseaddr(default_sender)[1] or default_sender


def dress(msg, brand: Brand) -> None:
    """Put the brand on a report email: sender display name, Reply-To and the logo as an
    inline image part.

    The logo travels inside the email (Content-ID `LOGO_CID`), not as a link: mail
    clients fetch links without the recipient's session, so a link would need a public
    URL, and most clients block remote images until the reader allows them; an inline
    part shows at once and keeps the logo route signed-in only."""
    msg.sender = sender(brand, msg.sender)
    if brand.reply_to:
        msg.reply_to = brand.reply_to
    if brand.has_logo:
        logo = logo_of(brand.workspace_id)
        if logo is not None:
            msg.related = ((LOGO_CID, logo[1], logo[0]),)


def preview_html(html: str, workspace_id: int) -> str:
    """The email's HTML for the in-app preview: the same HTML, with the inline logo's
    `cid:` reference resolved as a mail client resolves it (a browser cannot)."""
    if f"cid:{LOGO_CID}" not in html:
        return html
    return html.replace(f"cid:{LOGO_CID}", logo_data_uri(workspace_id) or "")
