"""Login Kit authorize page: strict checks (client_key, scopes, byte-exact redirect_uri, PKCE,
state echoed) and the consent form."""
import pytest

from .conftest import REDIRECT_URI, new_verifier


def assert_error_page(resp, param):
    assert resp.status_code == 400
    assert "Location" not in resp.headers  # never redirect a misconfigured request
    assert "We couldn&#39;t log in with TikTok" in resp.text or "We couldn't log in with TikTok" in resp.text
    assert f"<code>{param}</code>" in resp.text


def test_unknown_client_key_shows_error_page(sandbox):
    resp = sandbox.open_consent(sandbox.authorize_params(client_key="not_our_app"))
    assert_error_page(resp, "client_key")


def test_unapproved_scope_shows_error_page(sandbox):
    resp = sandbox.open_consent(sandbox.authorize_params(scope="user.info.basic,video.publish"))
    assert_error_page(resp, "scope")


def test_space_separated_scope_is_refused(sandbox):
    resp = sandbox.open_consent(sandbox.authorize_params(scope="user.info.basic video.list"))
    assert_error_page(resp, "scope")


@pytest.mark.parametrize(
    "redirect_uri",
    [
        REDIRECT_URI + "/",  # trailing slash matters
        REDIRECT_URI.replace("127.0.0.1", "localhost").replace("5000", "5001"),
        REDIRECT_URI.replace("http://", "https://"),
        REDIRECT_URI + "?next=/x",
        REDIRECT_URI.upper(),
    ],
)
def test_redirect_uri_not_byte_exact_shows_error_page_without_redirect(sandbox, redirect_uri):
    resp = sandbox.open_consent(sandbox.authorize_params(redirect_uri=redirect_uri))
    assert_error_page(resp, "redirect_uri")


def test_missing_pkce_challenge_shows_error_page(sandbox):
    resp = sandbox.open_consent(sandbox.authorize_params(code_challenge=None, code_challenge_method=None))
    assert_error_page(resp, "code_challenge")


@pytest.mark.parametrize("method", ["plain", "s256", None])
def test_challenge_method_other_than_S256_shows_error_page(sandbox, method):
    resp = sandbox.open_consent(sandbox.authorize_params(code_challenge_method=method))
    assert_error_page(resp, "code_challenge_method")


def test_pkce_can_be_optional_for_web_apps(make_sandbox):
    lenient = make_sandbox(require_pkce=False)
    resp = lenient.open_consent(lenient.authorize_params(code_challenge=None, code_challenge_method=None))
    assert resp.status_code == 200


def test_missing_state_shows_error_page(sandbox):
    resp = sandbox.open_consent(sandbox.authorize_params(state=None))
    assert_error_page(resp, "state")


def test_consent_page_lists_app_scopes_and_demo_accounts(sandbox):
    resp = sandbox.open_consent(sandbox.authorize_params())
    assert resp.status_code == 200
    html = resp.text
    assert "Logic Target" in html and "Logic Target Ltd." in html
    for scope in sandbox.authorize_params()["scope"].split(","):
        assert f'value="{scope}" checked' in html
    assert 'value="brassorbit3"' in html and "@moontideco2" in html
    assert "<script" not in html and "style=" not in html and "<style" not in html  # host CSP


def test_grant_redirects_with_code_scopes_and_verbatim_state(sandbox):
    state = "a b&c=d/é*!~"
    params = sandbox.authorize_params(new_verifier(), state=state)
    resp = sandbox.consent(params)
    location = resp.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    # One layer of percent-encoding: the code's "*" and "!" arrive as %2A and %21.
    assert "%2A" in location and "%21" in location
    got = sandbox.callback_params(resp)
    assert "*" in got["code"] and "!" in got["code"]
    assert got["state"] == state
    assert got["scopes"] == params["scope"]


def test_unticked_scopes_are_left_out_of_the_callback(sandbox):
    resp = sandbox.consent(sandbox.authorize_params(), scopes=["user.info.basic", "video.list"])
    assert sandbox.callback_params(resp)["scopes"] == "user.info.basic,video.list"


def test_deny_redirects_with_access_denied_and_state(sandbox):
    params = sandbox.authorize_params()
    got = sandbox.callback_params(sandbox.consent(params, action="deny"))
    assert got["error"] == "access_denied"
    assert got["error_description"]
    assert got["state"] == params["state"]
    assert "code" not in got


def test_consent_form_nonce_is_single_use(sandbox):
    page = sandbox.open_consent(sandbox.authorize_params())
    form = {"nonce": sandbox.nonce_of(page), "username": "brassorbit3", "scope": ["user.info.basic"], "action": "grant"}
    first = sandbox.http.post(sandbox.url("/v2/auth/authorize/decide"), data=form, allow_redirects=False)
    assert first.status_code == 302
    replay = sandbox.http.post(sandbox.url("/v2/auth/authorize/decide"), data=form, allow_redirects=False)
    assert replay.status_code == 400 and "Location" not in replay.headers


def test_consent_post_without_nonce_is_refused(sandbox):
    form = {"username": "brassorbit3", "scope": ["user.info.basic"], "action": "grant"}
    resp = sandbox.http.post(sandbox.url("/v2/auth/authorize/"), data=form, allow_redirects=False)
    assert resp.status_code == 400 and "Location" not in resp.headers


def test_consent_with_no_scope_ticked_asks_again(sandbox):
    resp = sandbox.consent(sandbox.authorize_params(), scopes=[])
    assert resp.status_code == 400 and "Tick at least one permission" in resp.text
