"""Mail through a real SMTP server (aiosmtpd): timeouts, refused recipients, outbox."""
import pytest
from jinja2 import ChoiceLoader, DictLoader

from app.services import mail
from app.services.mail import MailError, Outbound
from tests.conftest import free_port

TEMPLATES = {
    "email/test_hello.txt": "Hi {{ name }}",
    "email/test_hello.html": "{% extends 'email/_layout.html' %}{% block body %}<h1>Hi {{ name }}</h1>{% endblock %}",
}


def mail_app(app_factory, **config):
    app = app_factory(**config)
    app.jinja_loader = ChoiceLoader([DictLoader(TEMPLATES), app.jinja_loader])
    return app


def _msg(app, to="ok@example.com"):
    return mail.compose("Hello", to, template="test_hello", name="Ada")  # an app context is enough


def test_sends_text_and_html_with_inlined_css(app_factory, smtp_server):
    app = mail_app(app_factory, **smtp_server.config)
    with app.app_context():
        msg = _msg(app)
        with Outbound() as out:
            out.send(msg)
            out.send(_msg(app, "ok2@example.com"))  # same connection
    assert len(smtp_server.messages) == 2
    received = smtp_server.messages[0]
    parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in received.walk()
             if not p.is_multipart()}
    assert parts["text/plain"].strip() == "Hi Ada"
    assert "<h1 style=" in parts["text/html"]  # CSS inlined for mail clients
    assert received["Message-ID"] == msg.msgId


def test_refused_recipient_is_an_error_not_silence(app_factory, smtp_server):
    app = mail_app(app_factory, **smtp_server.config)
    with app.app_context():
        with pytest.raises(MailError) as e:
            mail.send_one(_msg(app, "refuse@example.com"))
        assert e.value.transient is False
        with pytest.raises(MailError) as e:
            mail.send_one(_msg(app, "busy@example.com"))
        assert e.value.transient is True
        smtp_server.fail_next_data = 1
        with pytest.raises(MailError) as e:
            mail.send_one(_msg(app))
        assert e.value.transient is True
    assert smtp_server.messages == []


def test_unreachable_server_fails_fast_and_transient(app_factory):
    app = mail_app(app_factory, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(free_port()), MAIL_TIMEOUT="2")
    with app.app_context():
        with pytest.raises(MailError) as e:
            mail.send_one(_msg(app))
        assert e.value.transient


def test_no_mail_server_writes_eml_files(app_factory):
    app = mail_app(app_factory)
    with app.app_context():
        mail.send_one(_msg(app))
        files = mail.outbox_messages(app.config["MAIL_OUTBOX_DIR"])
    assert len(files) == 1 and b"Hi Ada" in files[0]


def test_header_injection_is_refused(app_factory):
    app = mail_app(app_factory)
    with app.app_context(), pytest.raises(MailError):
        _msg(app, "victim@example.com\r\nBcc: everyone@example.com")


def test_smtp_server_that_never_answers_times_out(app_factory):
    """A server that accepts TCP and never sends its banner: the send gives up at MAIL_TIMEOUT."""
    import socket
    import threading
    import time

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    held = []
    threading.Thread(target=lambda: held.append(silent.accept()), daemon=True).start()
    app = mail_app(app_factory, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(silent.getsockname()[1]), MAIL_TIMEOUT="1")
    started = time.monotonic()
    with app.app_context(), pytest.raises(MailError) as e:
        mail.send_one(_msg(app))
    assert e.value.transient and time.monotonic() - started < 5
    silent.close()
