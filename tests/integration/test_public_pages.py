"""The public trust pages: /privacy, /terms, /security.

They are read by TikTok's app review and by clients as promises, so these tests pin
that they render for anyone, are valid HTML, and say what the configuration and the
schema say (retention, scopes, key protection, contact, data inventory)."""
from __future__ import annotations

import re

import base64

import html5lib
import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

import jobs
from app.services import trust

PAGES = ["/privacy", "/terms", "/security"]
CUSTOM_SCOPES = "user.info.basic,video.list,made.up.scope"


def parse(html: str):
    """Parse strictly (html5lib raises on any parse error) and return the tree."""
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(html)


def text_of(tree) -> str:
    return re.sub(r"\s+", " ", "".join(tree.itertext()))


def hrefs(html: str) -> set[str]:
    return {a.get("href") for a in parse(html).iter("a")}


@pytest.mark.parametrize("path", PAGES)
def test_page_renders_without_signing_in_and_is_valid_html(client, path):
    r = client.get(path)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    tree = parse(html)  # raises html5lib.html5parser.ParseError on invalid markup
    ids = [el.get("id") for el in tree.iter() if isinstance(el.tag, str) and el.get("id")]
    assert len(ids) == len(set(ids)), f"duplicate ids: {sorted({i for i in ids if ids.count(i) > 1})}"
    # every in-page link and aria reference points at an element that exists
    for a in tree.iter("a"):
        if a.get("href", "").startswith("#"):
            assert a.get("href")[1:] in ids, a.get("href")
    for el in tree.iter():
        if isinstance(el.tag, str) and el.get("aria-labelledby"):
            assert set(el.get("aria-labelledby").split()) <= set(ids), el.get("aria-labelledby")
    # CSP: nothing inline
    assert not [el for el in tree.iter() if isinstance(el.tag, str) and el.get("style") is not None]
    assert not [s for s in tree.iter("script") if not s.get("src")]
    assert not list(tree.iter("style"))
    assert "public.css" in html
    assert r.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_public_stylesheet_is_served(client):
    assert client.get("/static/public.css").status_code == 200


def test_privacy_lists_exactly_the_configured_scopes_each_with_a_purpose(app_factory):
    app = app_factory(TIKTOK_SCOPES=CUSTOM_SCOPES)
    html = app.test_client().get("/privacy").get_data(as_text=True)
    tree = parse(html)
    scope_list = next(el for el in tree.iter("dl") if el.get("id") == "scopes")
    shown = [code.text for code in scope_list.iter("code")]
    assert shown == ["user.info.basic", "video.list", "made.up.scope"]
    purposes = [text_of(dd).strip() for dd in scope_list.iter("dd")]
    assert purposes[0] == trust.SCOPE_PURPOSES["user.info.basic"]
    assert purposes[2] == trust.GENERIC_SCOPE_PURPOSE  # an unknown scope still gets a line
    # a scope this installation does not request is named nowhere on the page
    for absent in ("video.insights", "comment.list", "user.insights"):
        assert absent not in html


def test_privacy_shows_the_default_scopes_from_config(client, app):
    html = client.get("/privacy").get_data(as_text=True)
    for scope in app.config["TIKTOK_SCOPES"]:
        assert f"<code>{scope}</code>" in html


@pytest.mark.parametrize("path", ["/privacy", "/security", "/terms"])
def test_changing_retention_days_changes_the_page(app_factory, path):
    default = text_of(parse(app_factory().test_client().get(path).get_data(as_text=True)))
    custom = text_of(parse(app_factory(RETENTION_DAYS="30").test_client().get(path).get_data(as_text=True)))
    assert "90 days after disconnecting" in default or "90 days later" in default
    assert "30 days" in custom and "90 days" not in custom


def test_retention_reaches_every_inventory_row_that_depends_on_it(app_factory):
    tree = parse(app_factory(RETENTION_DAYS="30").test_client().get("/privacy").get_data(as_text=True))
    rows = {tr.get("data-table"): text_of(tr) for tr in tree.iter("tr") if tr.get("data-table")}
    for table in ("posts", "post_metrics", "account_snapshots", "tiktok_connections", "reports"):
        assert "30 days after the account is disconnected" in rows[table]


@pytest.mark.parametrize("path", PAGES)
def test_security_contact_from_config_shows_as_a_mailto_link(app_factory, path):
    app = app_factory(SECURITY_CONTACT="trust@agency.example")
    links = hrefs(app.test_client().get(path).get_data(as_text=True))
    assert "mailto:trust@agency.example" in links


def test_security_page_asks_reviewers_to_email_for_more_evidence(client, app):
    text = text_of(parse(client.get("/security").get_data(as_text=True)))
    assert "Need more evidence for review?" in text
    assert "security questionnaire and architecture diagram" in text
    assert "email our security team" in text


def test_security_page_names_local_keys_without_key_material(client, app):
    html = client.get("/security").get_data(as_text=True)
    tree = parse(html)
    assert text_of(next(el for el in tree.iter("strong") if el.get("id") == "key-protection")) == "local key-encryption keys"
    for kid, key in app.config["TOKEN_KEYS"]:
        assert key.hex() not in html
        assert base64.b64encode(key).decode() not in html


def test_security_page_names_kms_without_the_key_id(app_factory):
    key_id = "arn:aws:kms:eu-west-1:123456789012:key/0f1e2d3c-aaaa-bbbb-cccc-1234567890ab"
    app = app_factory(KMS_KEY_ID=key_id, TOKEN_KEYS=None)
    html = app.test_client().get("/security").get_data(as_text=True)
    tree = parse(html)
    assert text_of(next(el for el in tree.iter("strong") if el.get("id") == "key-protection")) == "AWS KMS"
    assert "123456789012" not in html and "0f1e2d3c" not in html


def test_security_page_shows_the_architecture_diagram_and_every_job(client, app):
    html = client.get("/security").get_data(as_text=True)
    tree = parse(html)
    svgs = [el for el in tree.iter() if el.tag == "{http://www.w3.org/2000/svg}svg"]
    assert len(svgs) == 1 and svgs[0].get("role") == "img"
    text = text_of(tree)
    for job in trust.JOBS:
        assert job.name in text and job.touches in text


def test_terms_carry_tiktok_developer_terms_obligations(client, app):
    text = text_of(parse(client.get("/terms").get_data(as_text=True)))
    assert "build profiles of, or databases about, individual people" in text
    assert "download, copy, re-host or migrate TikTok content" in text


# ------------------------------------------------------------ data inventory


def test_every_table_is_in_the_data_inventory_or_explicitly_excluded(app):
    """Adding a model that stores TikTok data without declaring `__data_inventory__`
    (or excluding its table in app/services/trust.py, with a reason) fails here — so
    the privacy page cannot drift from the schema."""
    assert trust.uncovered_tables() == []
    assert trust.stale_exclusions() == []
    assert all(reason.strip() for reason in trust.EXCLUDED_TABLES.values())


def test_a_new_undeclared_model_is_caught():
    """The check itself works: on a throwaway registry, a model holding TikTok data
    without `__data_inventory__` is reported, a declared one is not."""
    class Base(so.DeclarativeBase):
        pass

    class CachedComment(Base):  # what someone might add next
        __tablename__ = "cached_comments"
        id: so.Mapped[int] = so.mapped_column(primary_key=True)
        text: so.Mapped[str] = so.mapped_column(sa.Text)

    class DeclaredThing(Base):
        __tablename__ = "declared_things"
        __data_inventory__ = {"what": "x", "source_scopes": ["video.list"], "deleted": "{retention_days} days"}
        id: so.Mapped[int] = so.mapped_column(primary_key=True)

    sa.Table("plain_link_table", Base.metadata, sa.Column("a", sa.Integer))

    found = trust.uncovered_tables(registry=Base.registry, metadata=Base.metadata)
    assert found == ["cached_comments", "plain_link_table"]


def test_inventory_rows_are_complete_and_shown_on_privacy(client, app):
    entries = trust.inventory(app.config["RETENTION_DAYS"])
    assert {e.table for e in entries} >= {
        "tiktok_connections", "posts", "post_metrics", "account_snapshots", "spark_ad_metrics", "reports",
    }
    tree = parse(client.get("/privacy").get_data(as_text=True))
    rows = {tr.get("data-table"): text_of(tr) for tr in tree.iter("tr") if tr.get("data-table")}
    assert set(rows) == {e.table for e in entries}
    for e in entries:
        assert e.what and e.deleted and "{" not in e.deleted
        assert e.what in rows[e.table]


def test_every_registered_job_is_described_on_the_security_page():
    """A job added to jobs.REGISTRY without its line in trust.JOBS fails here."""
    jobs.load_all()
    assert jobs.REGISTRY, "no job registered: jobs.load_all() found none"
    assert set(jobs.REGISTRY) <= {j.name for j in trust.JOBS}


# ------------------------------------------------------------ links in


def test_sign_in_page_links_privacy_and_terms_and_the_footer_links_all_three(client):
    links = hrefs(client.get("/login").get_data(as_text=True))
    assert {"/privacy", "/terms", "/security"} <= links
    for path in PAGES:  # reachable from there
        assert client.get(path).status_code == 200


def test_sign_in_card_itself_links_privacy_and_terms(client):
    tree = parse(client.get("/login").get_data(as_text=True))
    card = next(el for el in tree.iter("section") if "card" in (el.get("class") or ""))
    assert {"/privacy", "/terms"} <= {a.get("href") for a in card.iter("a")}


@pytest.mark.parametrize("path", PAGES)
def test_footer_on_every_trust_page_links_all_three(client, path):
    tree = parse(client.get(path).get_data(as_text=True))
    footer = next(tree.iter("footer"))
    assert {"/privacy", "/terms", "/security", "/data-deletion"} <= {a.get("href") for a in footer.iter("a")}


def test_privacy_links_the_data_deletion_form(client):
    assert "/data-deletion" in hrefs(client.get("/privacy").get_data(as_text=True))


def test_integrations_danger_zone_links_privacy_and_data_deletion(client, login_as):
    login_as("admin")
    r = client.get("/settings/integrations")
    assert r.status_code == 200
    tree = parse(r.get_data(as_text=True))
    zone = next(el for el in tree.iter("section") if "danger-zone" in (el.get("class") or "").split())
    links = {a.get("href") for a in zone.iter("a")}
    assert {"/privacy", "/data-deletion"} <= links
