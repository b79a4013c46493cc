"""A workspace's brand on its reports: the settings page (agency staff only), the logo
upload's checks, the accent colour's contrast check, the sender's name and reply-to, and
the brand on the report page, in the email (through a real SMTP server) and in the PDF."""
from __future__ import annotations

import io
from email.header import decode_header, make_header

import pypdf
import pytest
import sqlalchemy as sa
from PIL import Image

from app.extensions import db
from app.models import AuditEvent, WorkspaceBrand
from app.services import branding, report_delivery, report_figures
from tests.conftest import Client, login
from tests.report_data import NOW, WEEK, seed_brass


@pytest.fixture
def app(app_factory, db_backend, smtp_server):
    app = app_factory(db_backend, MAIL_DEFAULT_SENDER="Logic Target <reports@logic-target.test>",
                      **smtp_server.config)
    app.test_client_class = Client
    with app.app_context():
        yield app


def png(width: int = 120, height: int = 40, colour=(209, 25, 62)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


def jpeg(width: int = 90, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (20, 60, 200)).save(out, format="JPEG")
    return out.getvalue()


def header(value) -> str:
    return str(make_header(decode_header(value)))


def stored(ws) -> WorkspaceBrand | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(WorkspaceBrand).where(WorkspaceBrand.workspace_id == ws.id))


def upload(client, ws, data: bytes, name: str = "logo.png", mimetype: str = "image/png"):
    return client.post_form("/settings/branding/logo", {"workspace_id": ws.id, "logo": (io.BytesIO(data), name, mimetype)},
                            content_type="multipart/form-data")


def save(client, ws, **fields):
    return client.post_form("/settings/branding", {"workspace_id": ws.id, **fields})


# ------------------------------------------------------------------ who may

def test_branding_page_is_for_agency_staff_only(client, people):
    url = f"/settings/branding?workspace={people.workspace.id}"
    login(client, people.agency)
    page = client.get(url)
    assert page.status_code == 200 and "Report branding for Brass Studio" in page.get_data(as_text=True)
    for who, status in ((people.admin, 403), (people.creator, 403), (people.outsider, 404)):
        login(client, who)
        assert client.get(url).status_code == status, who.email
        assert save(client, people.workspace, accent_color="#123456").status_code == status, who.email
        assert upload(client, people.workspace, png()).status_code == status, who.email
    assert stored(people.workspace) is None


# ------------------------------------------------------------------ the logo's checks

SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"


@pytest.mark.parametrize("data, name, mimetype, says", [
    (GIF, "logo.gif", "image/gif", "not a PNG or JPEG image"),
    (SVG, "logo.svg", "image/svg+xml", "SVG logos are not accepted"),
    (SVG, "logo.png", "image/png", "SVG logos are not accepted"),
    (b"MZ\x90\x00 this is a program, not a picture", "logo.png", "image/png", "not a PNG or JPEG image"),
    (png()[:60], "logo.png", "image/png", "damaged or incomplete"),
    (png(2400, 20), "wide.png", "image/png", "2400×20 pixels"),
    (png(8, 8), "tiny.png", "image/png", "8×8 pixels"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * (600 * 1024), "big.png", "image/png", "the limit is 512 KB"),
    (b"", "empty.png", "image/png", "Choose an image file"),
], ids=["gif", "svg", "svg-named-png", "binary-named-png", "truncated-png", "too-wide", "too-small", "too-big",
        "empty"])
def test_a_refused_logo_says_why_and_stores_nothing(client, people, data, name, mimetype, says):
    login(client, people.agency)
    r = upload(client, people.workspace, data, name, mimetype)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert says in html, html[html.find("field-error"):][:400]
    assert stored(people.workspace) is None
    assert not db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event == "brand.logo_set")).all()


def test_upload_larger_than_the_request_cap_is_refused_before_reading(client, people):
    login(client, people.agency)
    r = upload(client, people.workspace, b"\x89PNG\r\n\x1a\n" + b"\x00" * (5 * 1024 * 1024))
    assert r.status_code == 413
    assert stored(people.workspace) is None


def test_jpeg_logo_is_accepted_and_served_with_its_type(client, people):
    login(client, people.agency)
    data = jpeg()
    r = upload(client, people.workspace, data, "logo.jpeg", "image/jpeg")
    assert r.status_code == 303
    row = stored(people.workspace)
    assert (row.logo_type, row.logo_width, row.logo_height) == ("image/jpeg", 90, 30)
    got = client.get(f"/brand/{people.workspace.id}/logo")
    assert got.status_code == 200 and got.data == data
    assert got.headers["Content-Type"] == "image/jpeg"


# ------------------------------------------------------------------ accent, sender, reply-to

def test_contrast_ratio_is_wcags():
    assert branding.contrast_ratio("#000000") == pytest.approx(21.0)
    assert branding.contrast_ratio("#ffffff") == pytest.approx(1.0)
    assert branding.contrast_ratio("#767676") == pytest.approx(4.54, abs=0.01)  # the lightest grey that passes AA
    assert branding.contrast_ratio("#777777") == pytest.approx(4.48, abs=0.01)
    assert branding.contrast_ratio(branding.DEFAULT_ACCENT) >= branding.MIN_CONTRAST


def test_accent_colour_too_light_is_refused_with_its_ratio(client, people):
    login(client, people.agency)
    r = save(client, people.workspace, accent_color="#FFCC00", sender_name="Brass Agency")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "#ffcc00 is too light: its contrast with white is 1.51:1" in html
    assert "at least 4.5:1" in html
    assert 'value="Brass Agency"' in html  # what was typed is kept
    assert stored(people.workspace) is None  # nothing saved, the sender name neither
    # 4.4799…:1 is not rounded up into a pass
    assert "#777777 is too light: its contrast with white is 4.47:1" in save(
        client, people.workspace, accent_color="#777777").get_data(as_text=True)
    assert "not a colour" in save(client, people.workspace, accent_color="blue").get_data(as_text=True)

    assert save(client, people.workspace, accent_color="#1D4ED8").status_code == 303
    assert stored(people.workspace).accent_color == "#1d4ed8"
    css = client.get(f"/brand/{people.workspace.id}/accent.css")
    assert css.headers["Content-Type"].startswith("text/css") and "#1d4ed8" in css.get_data(as_text=True)


@pytest.mark.parametrize("field, value, says", [
    ("sender_name", "support@yourbank.com", "without @"),
    ("sender_name", "x" * 81, "81 characters long"),
    ("reply_to", "not an address", "is not an email address"),
])
def test_sender_name_and_reply_to_are_checked(client, people, field, value, says):
    login(client, people.agency)
    r = save(client, people.workspace, **{field: value})
    assert r.status_code == 422 and says in r.get_data(as_text=True)
    assert stored(people.workspace) is None


# ------------------------------------------------------------------ the brand everywhere

def pdf_images(data: bytes) -> list:
    return [img for page in pypdf.PdfReader(io.BytesIO(data)).pages for img in page.images]


def test_accepted_logo_and_brand_appear_on_the_page_in_the_email_and_in_the_pdf(client, people, smtp_server):
    seed_brass(people)
    report_figures.build_report(people.workspace, WEEK, now=NOW)
    db.session.commit()
    ws = people.workspace
    login(client, people.agency)
    logo = png()
    assert upload(client, ws, logo).status_code == 303
    assert save(client, ws, accent_color="#0b5394", sender_name="Brass Agency", reply_to="Maya@Brass.Agency",
                attach_pdf="on").status_code == 303
    brand = branding.brand_of(ws.id)
    assert (brand.accent, brand.sender_name, brand.reply_to, brand.attach_pdf) == (
        "#0b5394", "Brass Agency", "maya@brass.agency", True)
    assert [e.event for e in db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event.like("brand.%"))
                                                      .order_by(AuditEvent.id))] == [
        "brand.logo_set", "brand.updated"]

    # The report page: the logo from our origin, the accent stylesheet, the PDF link.
    login(client, people.admin)
    page = client.get(f"/reports/{WEEK}?workspace={ws.id}").get_data(as_text=True)
    assert f'src="/brand/{ws.id}/logo?v={brand.logo_version}"' in page
    assert f"/brand/{ws.id}/accent.css" in page and f"/reports/{WEEK}.pdf?workspace={ws.id}" in page
    served = client.get(f"/brand/{ws.id}/logo?v={brand.logo_version}")
    assert served.data == logo and served.headers["Content-Type"] == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served.headers["Content-Security-Policy"]

    # The email: our address under the agency's name, its reply-to, the logo inline, the PDF attached.
    assert client.post_form(f"/reports/{WEEK}/test-send?workspace={ws.id}").status_code in (302, 303)
    [msg] = smtp_server.messages
    assert header(msg["From"]) == "Brass Agency <reports@logic-target.test>"
    assert msg["Reply-To"] == "maya@brass.agency"
    related = next(p for p in msg.walk() if p.get_content_type() == "multipart/related")
    html_part, image_part = related.get_payload()
    html = html_part.get_payload(decode=True).decode()
    assert f'src="cid:{branding.LOGO_CID}"' in html and "#0b5394" in html
    assert image_part["Content-ID"] == f"<{branding.LOGO_CID}>"
    assert image_part.get_content_type() == "image/png" and image_part.get_payload(decode=True) == logo
    [attachment] = [p for p in msg.walk() if p.get_content_disposition() == "attachment"]
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"brass-studio-{WEEK}.pdf"
    assert len(pdf_images(attachment.get_payload(decode=True))) == 1  # the logo, in the mailed PDF

    # The PDF download: the logo drawn in it, same pixels size as uploaded.
    pdf = client.get(f"/reports/{WEEK}.pdf?workspace={ws.id}")
    [image] = pdf_images(pdf.data)
    assert image.image.size == (120, 40)

    # The admins' preview is the mailed HTML with the inline logo resolved as a mail client would.
    preview = client.get(f"/reports/{WEEK}/email?workspace={ws.id}").get_data(as_text=True)
    assert "data:image/png;base64," in preview and "cid:" not in preview


def test_without_a_brand_the_email_is_ours_and_carries_no_pdf(client, people, smtp_server):
    seed_brass(people)
    report_figures.build_report(people.workspace, WEEK, now=NOW)
    db.session.commit()
    login(client, people.admin)
    client.post_form(f"/reports/{WEEK}/test-send?workspace={people.workspace.id}")
    [msg] = smtp_server.messages
    assert header(msg["From"]) == "Logic Target <reports@logic-target.test>" and msg["Reply-To"] is None
    assert not [p for p in msg.walk() if p.get_content_type() in ("multipart/related", "application/pdf")]
    html = next(p for p in msg.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    assert branding.DEFAULT_ACCENT in html and "cid:" not in html


def test_removing_the_logo_takes_it_off_everywhere(client, people):
    login(client, people.agency)
    upload(client, people.workspace, png())
    assert client.post_form("/settings/branding/logo/remove", {"workspace_id": people.workspace.id}).status_code == 303
    assert stored(people.workspace).logo is None
    assert client.get(f"/brand/{people.workspace.id}/logo").status_code == 404


def test_the_email_preview_renders_the_same_html_as_is_sent(client, people, smtp_server):
    seed_brass(people)
    report = report_figures.build_report(people.workspace, WEEK, now=NOW)
    db.session.commit()
    login(client, people.agency)
    upload(client, people.workspace, png())
    preview = client.get(f"/reports/{WEEK}/email?workspace={people.workspace.id}").get_data(as_text=True)
    sent = report_delivery.render_email(report, people.workspace).html
    expected = sent.replace(report_delivery.UNSUBSCRIBE_PLACEHOLDER, "#unsubscribe").replace(
        f"cid:{branding.LOGO_CID}", branding.logo_data_uri(people.workspace.id))
    assert preview == expected


def test_agency_staff_reach_branding_from_the_workspace_settings_and_the_report(client, people):
    seed_brass(people)
    report_figures.build_report(people.workspace, WEEK, now=NOW)
    db.session.commit()
    link = f'href="/settings/branding?workspace={people.workspace.id}"'
    login(client, people.agency)
    assert link in client.get(f"/workspaces/{people.workspace.id}/settings").get_data(as_text=True)
    assert link in client.get(f"/reports/{WEEK}?workspace={people.workspace.id}").get_data(as_text=True)
    login(client, people.admin)  # not theirs to change: no link
    assert link not in client.get(f"/workspaces/{people.workspace.id}/settings").get_data(as_text=True)
    assert link not in client.get(f"/reports/{WEEK}?workspace={people.workspace.id}").get_data(as_text=True)


def _pdf_of(msg) -> str:
    [part] = [p for p in msg.walk() if p.get_content_type() == "application/pdf"]
    reader = pypdf.PdfReader(io.BytesIO(part.get_payload(decode=True)))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_weekly_job_mails_each_reader_the_pdf_of_what_they_read(app, people, smtp_server):
    from jobs.runner import run_job

    from app.models import ReportSettings

    seed_brass(people)
    db.session.add(ReportSettings(workspace_id=people.workspace.id, creator_cut=True))
    branding.update(people.workspace, accent_color=None, sender_name="Brass Agency", reply_to=None, attach_pdf=True,
                    by=people.agency)
    db.session.commit()
    run_job(app, "weekly-reports", now=NOW)
    mails = {m["To"]: m for m in smtp_server.messages}
    assert set(mails) == {people.admin.email, people.creator.email}
    assert all(header(m["From"]) == "Brass Agency <reports@logic-target.test>" for m in mails.values())
    whole, own = _pdf_of(mails[people.admin.email]), _pdf_of(mails[people.creator.email])
    assert "@brassorbit3" in whole and "@moontideco2" in whole
    assert "Your accounts only (@brassorbit3)" in own and "@moontideco2" not in own


def test_without_the_pdf_engine_the_email_goes_without_the_pdf(client, people, smtp_server, monkeypatch):
    from app.services import report_pdf

    def missing_pango():
        raise OSError("cannot load library 'libpango-1.0-0'")

    monkeypatch.setattr(report_pdf, "_load", missing_pango)
    monkeypatch.setattr(report_pdf, "_loaded", {})
    seed_brass(people)
    report_figures.build_report(people.workspace, WEEK, now=NOW)
    branding.update(people.workspace, accent_color=None, sender_name=None, reply_to=None, attach_pdf=True,
                    by=people.agency)
    db.session.commit()
    login(client, people.agency)
    assert "The PDF engine is unavailable on this server" in client.get(
        f"/settings/branding?workspace={people.workspace.id}").get_data(as_text=True)
    client.post_form(f"/reports/{WEEK}/test-send?workspace={people.workspace.id}")
    [msg] = smtp_server.messages
    assert not [p for p in msg.walk() if p.get_content_type() == "application/pdf"]
    assert "Week 21" in next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()


def test_logo_and_accent_stylesheet_are_for_the_workspaces_members_only(client, people):
    login(client, people.agency)
    upload(client, people.workspace, png())
    ws = people.workspace.id
    for who in (people.admin, people.creator, people.agency):
        login(client, who)
        assert client.get(f"/brand/{ws}/logo").status_code == 200, who.email
        assert client.get(f"/brand/{ws}/accent.css").status_code == 200, who.email
    login(client, people.outsider)
    assert client.get(f"/brand/{ws}/logo").status_code == 404
    assert client.get(f"/brand/{ws}/accent.css").status_code == 404
    assert client.get("/brand/999999/logo").status_code == 404
    client.post_form("/logout")
    assert client.get(f"/brand/{ws}/logo").status_code in (302, 401)  # signed out: to the sign-in page
