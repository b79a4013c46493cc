"""Email: compose with Flask-Mail, send over SMTP with a timeout, or write .eml files.

Flask-Mail composes the message (text + HTML parts, header-injection checks), but its
transport opens `smtplib.SMTP` with no timeout and discards the recipients the server
refused. So sending is ours: one `Outbound` per batch reuses one SMTP connection, every
call has `MAIL_TIMEOUT`, and a refused recipient is an error. With no `MAIL_SERVER`,
mails are written to `instance/outbox/` as `.eml` files.

Templates render in an app context alone (jobs have no request): links in them are
built with `url_for(..., _external=True)`, which config points at APP_BASE_URL. A mail
that goes to many people is rendered once (`render`) and addressed per recipient
(`address`); `compose` does both for a single message.
"""
from __future__ import annotations

import logging
import quopri
import smtplib
import socket
import ssl
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from email import policy
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from pathlib import Path

import css_inline
from flask import current_app, render_template
from flask_mail import BadHeaderError, Message

log = logging.getLogger("app.mail")


def link(endpoint: str, **values) -> str:
    """An absolute link for an email, always on APP_BASE_URL (config's SERVER_NAME,
    APPLICATION_ROOT and PREFERRED_URL_SCHEME): inside a request, `url_for` would use
    whatever Host the request came in on, and a mail must not depend on that."""
    cfg = current_app.config
    adapter = current_app.url_map.bind(cfg["SERVER_NAME"], script_name=cfg.get("APPLICATION_ROOT") or "/",
                                       url_scheme=cfg["PREFERRED_URL_SCHEME"])
    return adapter.build(endpoint, values, force_external=True)


class MailError(Exception):
    """Sending failed. `transient` errors (timeouts, 4xx replies) are worth retrying."""

    def __init__(self, message: str, *, transient: bool):
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Rendered:
    """A mail's subject and its text and HTML parts, not yet addressed to anyone."""
    subject: str
    text: str
    html: str


# Header lines up to RFC 5322's 998 characters instead of folding at 78: folding a header
# that is one long word (a List-Unsubscribe URL) would turn it into an RFC 2047 encoded
# word, which mail providers do not read as a URL. Shorter headers come out as before.
LONG_HEADERS = policy.SMTP.clone(max_line_length=998)


class _Message(Message):
    # Images the HTML part shows by `cid:` (content id, MIME type, bytes). They go with the
    # HTML in a multipart/related part, where mail clients look for them, not as attachments.
    related: tuple[tuple[str, str, bytes], ...] = ()

    def _message(self):
        msg = super()._message()
        if self.related:
            _relate_images(msg, self.related)
        _fold_long_lines(msg)
        msg.policy = LONG_HEADERS
        return msg


def _fold_long_lines(msg) -> None:
    """Quoted-printable for any text part with a line over SMTP's 998 octets (RFC 5321
    4.5.3.1.6): Flask-Mail sends UTF-8 parts as raw 8bit, and CSS inlined onto a table
    row easily passes that; servers refuse such a message ("500 Line too long")."""
    for part in msg.walk():
        if part.get_content_maintype() != "text" or part.is_multipart():
            continue
        body = part.get_payload(decode=True) or b""
        if any(len(line) > 998 for line in body.splitlines()):
            del part["Content-Transfer-Encoding"]
            part.set_payload(quopri.encodestring(body).decode("ascii"))
            part["Content-Transfer-Encoding"] = "quoted-printable"


def _relate_images(msg, images) -> None:
    """Replace the text/html part of `msg` by multipart/related(html, images…)."""
    for container in msg.walk():
        if not container.is_multipart():
            continue
        parts = container.get_payload()
        for i, part in enumerate(parts):
            if part.get_content_type() == "text/html":
                related = MIMEMultipart("related")
                related.attach(part)
                for cid, mimetype, data in images:
                    image = MIMEImage(data, _subtype=mimetype.split("/", 1)[1])
                    image.add_header("Content-ID", f"<{cid}>")
                    image.add_header("Content-Disposition", "inline")
                    related.attach(image)
                parts[i] = related
                return


def _refuse_line_breaks(*headers: str) -> None:
    if any(c in header for header in headers for c in "\r\n"):
        raise MailError("refusing a header with a line break", transient=False)


def render(subject: str, *, template: str, **context) -> Rendered:
    """`templates/email/<template>.txt|.html` rendered once (CSS inlined for mail clients)."""
    _refuse_line_breaks(subject)
    text = render_template(f"email/{template}.txt", **context)
    html = css_inline.inline(render_template(f"email/{template}.html", **context))
    return Rendered(subject, text, html)


def address(rendered: Rendered, recipient: str, *, message_id: str | None = None) -> Message:
    """A message to one recipient. A deterministic `message_id` lets a retried send be recognised."""
    _refuse_line_breaks(recipient)
    msg = _Message(subject=rendered.subject, recipients=[recipient],
                   sender=current_app.config["MAIL_DEFAULT_SENDER"], body=rendered.text, html=rendered.html)
    if message_id:
        msg.msgId = message_id
    msg.extra_headers = {"Auto-Submitted": "auto-generated"}
    return msg


def compose(subject: str, recipient: str, *, template: str, message_id: str | None = None,
            **context) -> Message:
    """One message from `templates/email/<template>.txt|.html` to one recipient."""
    _refuse_line_breaks(recipient)
    return address(render(subject, template=template, **context), recipient, message_id=message_id)


class Outbound:
    """Send several messages over one SMTP connection (or into the outbox folder)."""

    def __init__(self, config=None):
        self.config = config or current_app.config
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "Outbound":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):  # already accepted: a failing QUIT changes nothing
                pass
            self._smtp = None

    def send(self, msg: Message) -> str:
        """Send one message; returns its Message-ID. Raises MailError."""
        try:
            raw = msg.as_bytes()
        except BadHeaderError:
            raise MailError("message has a header with a line break", transient=False) from None
        if not self.config.get("MAIL_SERVER"):
            return self._write_outbox(msg, raw)
        smtp = self._connect()
        try:
            refused = smtp.sendmail(msg.sender, msg.send_to, raw)
        except smtplib.SMTPRecipientsRefused as e:
            self.close()
            codes = [code for code, _ in e.recipients.values()]
            raise MailError(f"recipient refused ({codes})", transient=all(400 <= c < 500 for c in codes)) from None
        except smtplib.SMTPResponseException as e:
            self.close()
            raise MailError(f"SMTP error {e.smtp_code}", transient=400 <= e.smtp_code < 500) from None
        except (smtplib.SMTPException, OSError, socket.timeout) as e:
            self.close()
            raise MailError(f"SMTP connection failed ({type(e).__name__})", transient=True) from None
        if refused:  # some recipients accepted, some not: Flask-Mail would drop this silently
            codes = [code for code, _ in refused.values()]
            raise MailError(f"recipient refused ({codes})", transient=all(400 <= c < 500 for c in codes))
        return msg.msgId

    def _connect(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        cfg = self.config
        timeout = cfg.get("MAIL_TIMEOUT", 20)
        try:
            if cfg.get("MAIL_USE_SSL"):
                smtp = smtplib.SMTP_SSL(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=timeout,
                                        context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=timeout)
                if cfg.get("MAIL_USE_TLS"):
                    smtp.starttls(context=ssl.create_default_context())
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
        except smtplib.SMTPAuthenticationError:
            raise MailError("SMTP login refused", transient=False) from None
        except (smtplib.SMTPException, OSError, socket.timeout) as e:
            raise MailError(f"cannot reach the SMTP server ({type(e).__name__})", transient=True) from None
        self._smtp = smtp
        return smtp

    def _write_outbox(self, msg: Message, raw: bytes) -> str:
        # 0600 in a 0700 folder: messages carry one-time links (e.g. data-deletion confirmations).
        from app.private_files import write_private

        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        write_private(Path(self.config["MAIL_OUTBOX_DIR"]) / f"{stamp}-{uuid.uuid4().hex[:8]}.eml", raw)
        log.info("mail written to outbox recipients=%d", len(msg.send_to))
        return msg.msgId


def send_one(msg: Message) -> str:
    with Outbound() as out:
        return out.send(msg)


def outbox_messages(folder: str | Path) -> list[bytes]:
    """Messages in the outbox folder, oldest first (for tests and the README's demo)."""
    return [p.read_bytes() for p in sorted(Path(folder).glob("*.eml"))]

