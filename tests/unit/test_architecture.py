"""The architecture diagram on /security: drawn from its description, accessible,
CSP-safe, and complete (every box drawn and labelled, every arrow drawn)."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

import jobs
from app.services import architecture, trust

SVG = "{http://www.w3.org/2000/svg}"
LOCAL = {"KMS_KEY_ID": None}
KMS = {"KMS_KEY_ID": "arn:aws:kms:eu-west-1:123456789012:key/abcd"}


def draw(config=LOCAL):
    diagram = architecture.describe(config, jobs.when)
    return diagram, ET.fromstring(str(architecture.render_svg(diagram)))


def test_svg_is_accessible_image_with_title_and_desc():
    diagram, svg = draw()
    assert svg.get("role") == "img"
    title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
    assert title is not None and title.text == diagram.title
    assert desc is not None and desc.text == " ".join(diagram.sentences())
    assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert svg.get("viewBox") == f"0 0 {architecture.WIDTH} {architecture.HEIGHT}"


def test_every_node_is_drawn_and_text_labelled():
    diagram, svg = draw()
    groups = {g.get("data-node"): g for g in svg.iter(f"{SVG}g") if g.get("data-node")}
    assert set(groups) == {n.id for n in diagram.nodes}
    for n in diagram.nodes:
        g = groups[n.id]
        assert g.find(f"{SVG}rect") is not None
        texts = [t.text for t in g.iter(f"{SVG}text")]
        assert n.label in texts and n.note in texts


def test_every_edge_has_a_path_between_existing_nodes():
    diagram, svg = draw()
    paths = {p.get("data-edge"): p for p in svg.iter(f"{SVG}path") if p.get("data-edge")}
    ids = {n.id for n in diagram.nodes}
    assert len(paths) == len(diagram.edges)
    for e in diagram.edges:
        assert e.source in ids and e.target in ids
        p = paths[f"{e.source}->{e.target}"]
        assert re.fullmatch(r"M[\d.]+,[\d.]+( L[\d.]+,[\d.]+)+", p.get("d")), p.get("d")
        assert p.get("marker-end") == "url(#arch-arrow)"
        assert p.find(f"{SVG}title").text == e.label


@pytest.mark.parametrize("node_id", [
    "browser", "app", "database", "scheduler", "accounts_api", "marketing_api", "smtp", "sealing", "kek",
])
def test_the_described_architecture_is_there(node_id):
    diagram, _ = draw()
    assert node_id in {n.id for n in diagram.nodes}


def test_flows_the_brief_asks_for():
    diagram, _ = draw()
    edges = {(e.source, e.target) for e in diagram.edges}
    assert {("browser", "app"), ("app", "database"), ("sealing", "kek"), ("weekly-reports", "smtp"),
            ("sync", "accounts_api"), ("sync", "marketing_api"), ("refresh-tokens", "accounts_api"),
            ("revoke-retry", "accounts_api"), ("scheduler", "database")} <= edges
    app_node = diagram.node("app")
    assert app_node.note == "pages, htmx partials"


def test_every_scheduler_job_is_a_box_inside_the_scheduler():
    diagram, _ = draw()
    frame = diagram.node("scheduler")
    for job in trust.JOBS:
        n = diagram.node(job.name)
        assert n.kind == "job"
        assert frame.x <= n.x and n.x + n.w <= frame.x + frame.w
        assert frame.y <= n.y and n.y + n.h <= frame.y + frame.h


def test_boxes_fit_the_canvas_and_do_not_overlap():
    diagram, _ = draw()
    boxes = [n for n in diagram.nodes if n.kind not in ("group", "job")]
    for n in diagram.nodes:
        assert 0 <= n.x and n.x + n.w <= architecture.WIDTH and 0 <= n.y and n.y + n.h <= architecture.HEIGHT
    for i, a in enumerate(boxes + [diagram.node("scheduler")]):
        for b in (boxes + [diagram.node("scheduler")])[i + 1:]:
            apart = a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y
            assert apart, (a.id, b.id)


def test_key_box_says_which_key_protection_is_configured_but_never_the_key_id():
    local, _ = draw(LOCAL)
    kms, svg = draw(KMS)
    assert local.node("kek").note == "local keys (TOKEN_KEYS)"
    assert kms.node("kek").note == "AWS KMS"
    markup = ET.tostring(svg, encoding="unicode")
    assert "123456789012" not in markup and "abcd" not in markup


def test_no_inline_style_or_script_so_it_renders_under_csp():
    _, svg = draw()
    for el in svg.iter():
        assert el.get("style") is None
        assert not any(k.startswith("on") for k in el.attrib)
        assert el.tag not in (f"{SVG}script", f"{SVG}style", f"{SVG}foreignObject")


def test_labels_are_escaped():
    d = architecture.Diagram("a <b> & c", (architecture.Node("x", "<x>", "&", 0, 0, 10, 10),))
    markup = str(architecture.render_svg(d))
    assert "<x>" not in markup and "&lt;x&gt;" in markup and "&amp;" in markup
    ET.fromstring(markup)  # still well-formed XML
