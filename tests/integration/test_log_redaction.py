"""One-time links never reach a log: our request line, werkzeug's development server log
and gunicorn's access log all show `/data-deletion/verify/[redacted]`, and any route
whose URL variable is a token (a future invitation or password reset) is covered by
naming the variable, without touching the logging code."""
import email
import logging
import re
import runpy
import threading
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from app.logging_setup import redact, register_secret_param, register_secret_path
from app.services import mail
from tests.conftest import Client

ROOT = Path(__file__).resolve().parents[2]


def messages(caplog) -> str:
    return "\n".join(r.getMessage() for r in caplog.records)


def emailed_verify_path(app) -> str:
    raw = mail.outbox_messages(app.config["MAIL_OUTBOX_DIR"])[-1]
    msg = email.message_from_bytes(raw)
    text = next(p.get_payload(decode=True).decode() for p in msg.walk() if p.get_content_type() == "text/plain")
    return re.search(r"https?://[^/\s]+(/data-deletion/verify/[^\s?\"<]+)", text).group(1)


@pytest.fixture
def verify_path(app, client):
    """File a real public deletion request and return the path of the emailed link."""
    token = client.csrf_token("/data-deletion")
    r = client.post("/data-deletion", data={"csrf_token": token, "handle": "@brassorbit3",
                                            "email": "owner@example.com"})
    assert r.status_code == 303
    path = emailed_verify_path(app)
    assert len(path.rsplit("/", 1)[1]) >= 20
    return path


def test_request_log_line_redacts_the_emailed_link(app, client, verify_path, caplog):
    secret = verify_path.rsplit("/", 1)[1]
    with caplog.at_level(logging.INFO):
        assert client.get(verify_path).status_code == 200  # the real link, the real page
        client.get(verify_path + "?token=" + secret + "&invite_token=x1y2z3")
    logged = messages(caplog)
    assert secret not in logged and "x1y2z3" not in logged
    assert "GET /data-deletion/verify/[redacted] status=200" in logged


def test_werkzeug_dev_server_log_redacts_the_link(app, verify_path, caplog):
    from werkzeug.serving import make_server

    secret = verify_path.rsplit("/", 1)[1]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO):
            # urllib, not requests: requests-mock intercepts every `requests` call in these tests.
            with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}{verify_path}?code=abc123",
                                        timeout=10) as r:
                assert r.status == 200
    finally:
        server.shutdown()
        thread.join(5)
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("/data-deletion/verify/[redacted]" in line for line in lines), lines
    assert secret not in messages(caplog) and "abc123" not in messages(caplog)


class _Response:
    status = "200 OK"
    sent = 1234
    headers = [("X-Request-Id", "rid-1")]


class _Request:
    def __init__(self, referer):
        self.headers = [("REFERER", referer), ("USER-AGENT", "pytest")]


def _gunicorn_access_line(tmp_path, path, query="", referer="-", access_log_format=None) -> str:
    """What gunicorn's access log writes for one request, with the settings of gunicorn.conf.py."""
    from gunicorn.config import Config

    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("errorlog", str(tmp_path / "error.log"))
    cfg.set("logger_class", settings["logger_class"])
    cfg.set("access_log_format", access_log_format or settings["access_log_format"])
    logger = cfg.logger_class(cfg)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": path + (f"?{query}" if query else ""), "PATH_INFO": path,
               "QUERY_STRING": query, "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "203.0.113.5",
               "HTTP_REFERER": referer}
    try:
        logger.access(_Response(), _Request(referer), environ, timedelta(milliseconds=12))
    finally:
        for log in (logger.access_log, logger.error_log):
            for handler in list(log.handlers):
                log.removeHandler(handler)
                handler.close()
    return (tmp_path / "access.log").read_text()


def test_gunicorn_access_log_redacts_the_link(tmp_path, verify_path):
    secret = verify_path.rsplit("/", 1)[1]
    line = _gunicorn_access_line(tmp_path, verify_path)
    assert '"GET /data-deletion/verify/[redacted]"' in line and secret not in line


def test_gunicorn_access_log_redacts_whatever_the_format(tmp_path):
    secret = "s3cr3t-one-time-token-value"
    fmt = '%(h)s "%(r)s" %(s)s q=%(q)s ref="%(f)s" %(U)s'
    line = _gunicorn_access_line(tmp_path, f"/data-deletion/verify/{secret}", query=f"token={secret}&code=c0de99",
                                 referer=f"https://lt.example/data-deletion/verify/{secret}", access_log_format=fmt)
    assert secret not in line and "c0de99" not in line
    assert line.count("[redacted]") >= 4, line


def test_every_route_with_a_token_variable_is_redacted(app, client):
    """Walk the URL map: no route whose variable names a secret can leak it into a log."""
    client.get("/login")  # the first request registers the app's routes
    secret_rules = []
    for rule in app.url_map.iter_rules():
        names = [n for n in rule.arguments]
        if not any(n in ("token", "reference", "secret") or n.endswith(("_token", "_secret")) for n in names):
            continue
        sample = rule.rule
        for n in names:
            value = "Zq9SECRETvalue8x" if (n in ("token", "reference", "secret") or n.endswith(("_token", "_secret"))) \
                else "1"
            sample = re.sub(rf"<(?:[^<>:]+:)?{n}>", value, sample)
        secret_rules.append(rule.rule)
        assert "Zq9SECRETvalue8x" not in redact(f'"GET {sample} HTTP/1.1" 200'), rule.rule
        assert "Zq9SECRETvalue8x" not in redact(f"request id=1 GET {sample} status=200"), rule.rule
    assert "/data-deletion/verify/<token>" in secret_rules


def test_a_future_one_time_link_is_covered_by_naming_its_variable(app_factory, caplog):
    app = app_factory()
    app.add_url_rule("/invites/<invite_token>", "invite_accept", lambda invite_token: "welcome")
    app.add_url_rule("/password-reset/<token>/confirm", "reset_confirm", lambda token: "reset")
    app.test_client_class = Client
    client = app.test_client()
    with caplog.at_level(logging.INFO):
        client.get("/invites/inv-8f7e6d5c4b3a")
        client.get("/password-reset/rst-1a2b3c4d5e/confirm")
    logged = messages(caplog)
    assert "inv-8f7e6d5c4b3a" not in logged and "rst-1a2b3c4d5e" not in logged
    assert "/invites/[redacted]" in logged and "/password-reset/[redacted]/confirm" in logged


def test_registry_takes_explicit_paths_and_parameters():
    register_secret_path(r"/magic/(?P<key>[^/?#\s]+)/go")
    register_secret_param("magic_key")
    assert redact("GET /magic/abc123/go HTTP/1.1") == "GET /magic/[redacted]/go HTTP/1.1"
    assert redact("GET /magic/abc123/elsewhere") == "GET /magic/abc123/elsewhere"
    assert redact("/x?magic_key=k1&page=2") == "/x?magic_key=[redacted]&page=2"
    with pytest.raises(ValueError):
        register_secret_path(r"/no-group/[^/]+")
