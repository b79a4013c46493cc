"""The sandbox's /_control endpoints answer only a caller on this machine (or everyone when
`control_enabled`, the host app's SANDBOX_CONTROL): fault injection and the clock are
test tools, never something a visitor from the network may switch on."""
import pytest

from app.sandbox import SandboxSettings, create_sandbox_app
from app.sandbox.control import caller_is_local

REMOTE = {"REMOTE_ADDR": "203.0.113.5"}
CONTROL = ["/sandbox/tiktok/_control/faults", "/sandbox/tiktok/_control/requests",
           "/sandbox/tiktok/_control/clock", "/sandbox/tiktok/_control/webhooks"]


@pytest.fixture
def standalone():
    def make(**settings):
        return create_sandbox_app(SandboxSettings(**settings))
    return make


@pytest.mark.parametrize("path", CONTROL)
def test_remote_callers_get_404(standalone, path):
    client = standalone().test_client()
    assert client.get(path, environ_base=REMOTE).status_code == 404


def test_a_remote_caller_cannot_inject_a_fault_or_reset(standalone):
    app = standalone()
    client = app.test_client()
    r = client.post("/sandbox/tiktok/_control/faults", json={"endpoint": "*", "kind": "http_500", "count": 5},
                    environ_base=REMOTE)
    assert r.status_code == 404
    assert client.post("/sandbox/tiktok/_control/reset", environ_base=REMOTE).status_code == 404
    assert client.post("/sandbox/tiktok/_control/deauthorize", json={"username": "brassorbit3"},
                       environ_base=REMOTE).status_code == 404
    assert app.extensions["tiktok_sandbox"].sandbox_state.faults() == []


@pytest.mark.parametrize("addr", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_loopback_callers_are_served(standalone, addr):
    client = standalone().test_client()
    r = client.post("/sandbox/tiktok/_control/faults", json={"endpoint": "*", "kind": "http_500"},
                    environ_base={"REMOTE_ADDR": addr})
    assert r.status_code == 200 and len(r.get_json()["faults"]) == 1


@pytest.mark.parametrize("header", ["X-Forwarded-For", "X-Real-IP", "Forwarded"])
def test_a_forwarded_request_is_not_local_even_from_a_local_proxy(standalone, header):
    client = standalone().test_client()
    value = "for=203.0.113.5" if header == "Forwarded" else "203.0.113.5"
    r = client.get("/sandbox/tiktok/_control/faults", headers={header: value},
                   environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert r.status_code == 404


def test_control_enabled_opens_them_to_everyone(standalone):
    client = standalone(control_enabled=True).test_client()
    assert client.get("/sandbox/tiktok/_control/faults", environ_base=REMOTE).status_code == 200


def test_the_api_itself_is_not_restricted(standalone):
    # Only the test tools are local-only; the stand-in API answers like TikTok, to anyone.
    client = standalone().test_client()
    r = client.post("/sandbox/tiktok/open_api/v1.3/tt_user/oauth2/token/", json={}, environ_base=REMOTE)
    assert r.status_code == 200 and r.get_json()["code"] != 0


@pytest.mark.parametrize("environ, local", [
    ({"REMOTE_ADDR": "127.0.0.1"}, True),
    ({"REMOTE_ADDR": "::1"}, True),
    ({"REMOTE_ADDR": "10.0.0.7"}, False),
    ({"REMOTE_ADDR": "203.0.113.5"}, False),
    ({"REMOTE_ADDR": ""}, False),
    ({"REMOTE_ADDR": "localhost"}, False),
    ({}, False),
    ({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "127.0.0.1"}, False),
    # A ProxyFix put the forwarded address into REMOTE_ADDR: the socket's peer decides.
    ({"REMOTE_ADDR": "127.0.0.1", "werkzeug.proxy_fix.orig": {"REMOTE_ADDR": "203.0.113.5"}}, False),
])
def test_caller_is_local(environ, local):
    assert caller_is_local(environ) is local
