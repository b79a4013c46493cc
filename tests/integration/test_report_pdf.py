"""A report as a PDF: it opens (pypdf), holds the figures the web page shows, embeds its
fonts, draws the chart, is readable by exactly the report page's readers, and without the
PDF engine's system libraries the route says so (503) while the rest of the app works."""
from __future__ import annotations

import html
import io
import re

import pypdf
import pytest

from app.extensions import db
from app.services import report_figures, report_pdf
from tests.conftest import login
from tests.report_data import NOW, WEEK, seed_brass


@pytest.fixture
def built(app, people):
    seed_brass(people)
    report = report_figures.build_report(people.workspace, WEEK, now=NOW)
    db.session.commit()
    return report


def pdf_url(ws, week: str = WEEK) -> str:
    return f"/reports/{week}.pdf?workspace={ws.id}"


def page_figures(page_html: str) -> list[str]:
    """The headline numbers as the web page renders them: every `td.figure` cell (organic
    and paid), then each top post's and account's views."""
    cells = re.findall(r'<td class="num figure">(.*?)</td>', page_html, re.S)
    nums = re.findall(r'<td class="num">(.*?)</td>', page_html, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells + nums]


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_pdf_opens_and_holds_the_figures_the_page_shows(client, people, built):
    login(client, people.admin)
    page = client.get(f"/reports/{WEEK}?workspace={people.workspace.id}").get_data(as_text=True)
    assert f'href="{pdf_url(people.workspace)}"' in page.replace("&amp;", "&")
    r = client.get(pdf_url(people.workspace))
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/pdf"
    assert r.headers["Content-Disposition"] == f'attachment; filename="brass-studio-{WEEK}.pdf"'
    assert r.data.startswith(b"%PDF-")

    text = pdf_text(r.data)
    figures = page_figures(page)
    # 7 posts, 4,200 views, 13.0 % engagement, +84 followers, 2 boosted, 20,000 impressions,
    # 1.50 % CTR, 2.50 EUR CPM; the top posts' and accounts' views and posts.
    assert figures[:8] == ["7", "4,200", "13.0%", "+84", "2", "20,000", "1.50%", "2.50 EUR"]
    assert len(figures) > 8
    missing = [f for f in figures if f not in text]
    assert not missing, f"in the page but not in the PDF: {missing}\n{text}"
    for words in ("Week 21 · May 18 – May 24, 2026", "Top-performing creative", "Post number 6",
                  "Views by account", "@moontideco2", "Source: TikTok API for Business"):
        assert words in text


def test_pdf_embeds_every_font_it_uses(client, people, built):
    login(client, people.admin)
    reader = pypdf.PdfReader(io.BytesIO(client.get(pdf_url(people.workspace)).data))
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = (font.get("/FontDescriptor") or font["/DescendantFonts"][0].get_object()["/FontDescriptor"])
            fonts[font["/BaseFont"]] = descriptor.get_object()
    assert fonts, "the PDF uses no font"
    for name, descriptor in fonts.items():
        assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), f"{name} is not embedded"


def test_pdf_draws_the_views_chart_as_vectors(app, people, built):
    # The chart is the page's inline SVG, drawn in the PDF as paths filled with the accent
    # colour (not a picture): one bar per account, its length in proportion to its views
    # (3,500 and 700: 330 and 66 units from the bars' start at x=170).
    data = report_pdf.render(built, people.workspace)
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert not [img for p in reader.pages for img in p.images]
    content = b"".join(p.get_contents().get_data() for p in reader.pages)
    accent = b"0.819608 0.098039 0.243137 rg\n"  # #d1193e
    right_edges = set()
    for chunk in content.split(accent)[1:]:
        path = chunk.split(b"\nf", 1)[0]
        xs = [float(x) for x in re.findall(rb"^(\d+(?:\.\d+)?) \d+(?:\.\d+)? l$", path, re.M)]
        if xs and min(xs) >= 170:
            right_edges.add(max(xs))
    assert right_edges == {170 + 330, 170 + 66}


def test_pdf_is_for_the_report_pages_readers_only(client, people, built):
    ws = people.workspace
    login(client, people.creator)  # @brassorbit3's owner: posts that week
    assert client.get(pdf_url(ws)).status_code == 200
    login(client, people.creator2)  # @moontideco2 posted nothing that week: the page is 404 too
    assert client.get(f"/reports/{WEEK}?workspace={ws.id}").status_code == 404
    assert client.get(pdf_url(ws)).status_code == 404
    login(client, people.outsider)
    assert client.get(pdf_url(ws)).status_code == 404
    login(client, people.agency)
    assert client.get(pdf_url(ws)).status_code == 200
    missing = client.get(pdf_url(ws, "2026-W30"))
    assert missing.status_code == 404 and "has not been generated yet" in missing.get_data(as_text=True)
    assert client.get(pdf_url(ws, "2026-W99")).status_code == 404


def test_without_the_engines_libraries_the_pdf_says_why_and_the_rest_works(client, people, built, monkeypatch):
    def missing_pango():
        raise OSError("cannot load library 'libpango-1.0-0': libpango-1.0-0: cannot open shared object file")

    monkeypatch.setattr(report_pdf, "_load", missing_pango)
    monkeypatch.setattr(report_pdf, "_loaded", {})
    problem = report_pdf.engine_problem()
    assert "libpango-1.0-0" in problem and "apt-get install" in problem

    login(client, people.admin)
    r = client.get(pdf_url(people.workspace))
    assert r.status_code == 503
    body = html.unescape(r.get_data(as_text=True))
    assert "The PDF engine is unavailable on this server" in body and "libpango-1.0-0" in body
    page = client.get(f"/reports/{WEEK}?workspace={people.workspace.id}")
    assert page.status_code == 200 and "Week 21" in page.get_data(as_text=True)


def test_flask_serve_says_in_one_line_why_pdfs_are_unavailable(app, monkeypatch):
    import werkzeug.serving

    served = []
    monkeypatch.setattr(werkzeug.serving, "run_simple", lambda *a, **kw: served.append(a[:2]))
    runner = app.test_cli_runner()
    assert "PDF reports unavailable" not in runner.invoke(args=["serve"]).output  # the engine loads here

    def missing_pango():
        raise OSError("cannot load library 'libpango-1.0-0'")

    monkeypatch.setattr(report_pdf, "_load", missing_pango)
    monkeypatch.setattr(report_pdf, "_loaded", {})
    result = runner.invoke(args=["serve"])
    assert result.exit_code == 0, result.output
    [line] = [x for x in result.output.splitlines() if x.startswith("PDF reports unavailable")]
    assert "libpango-1.0-0" in line
    assert len(served) == 2  # it serves all the same


def test_a_months_report_has_its_pdf_too(client, people):
    seed_brass(people)
    report_figures.build_report(people.workspace, "2026-05", now=NOW.replace(month=6, day=1))
    db.session.commit()
    login(client, people.admin)
    r = client.get(pdf_url(people.workspace, "2026-05"))
    assert r.status_code == 200
    text = pdf_text(r.data)
    assert "TIKTOK MONTHLY REPORT" in text and "May 2026" in text  # the eyebrow is set in capitals
    assert r.headers["Content-Disposition"] == 'attachment; filename="brass-studio-2026-05.pdf"'


def test_with_the_creator_cut_a_creators_pdf_holds_only_their_accounts(client, people):
    from datetime import datetime, timezone

    from app.models import ReportSettings
    from tests.report_data import add_post

    _, conn2 = seed_brass(people)
    add_post(conn2, "moon-w21", datetime(2026, 5, 20, 12, tzinfo=timezone.utc), views=300, caption="moon post")
    db.session.add(ReportSettings(workspace_id=people.workspace.id, creator_cut=True))
    db.session.commit()
    report_figures.build_report(people.workspace, WEEK, now=NOW)
    db.session.commit()
    login(client, people.creator2)
    page = client.get(f"/reports/{WEEK}?workspace={people.workspace.id}").get_data(as_text=True)
    text = pdf_text(client.get(pdf_url(people.workspace)).data)
    assert "Your accounts only (@moontideco2)" in text and "moon post" in text
    assert "@brassorbit3" not in text and "Post number" not in text
    assert not [f for f in page_figures(page) if f not in text]
    login(client, people.admin)
    whole = pdf_text(client.get(pdf_url(people.workspace)).data)
    assert "@brassorbit3" in whole and "@moontideco2" in whole and "Shows:" not in whole
