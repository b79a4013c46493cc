"""The architecture diagram on /security, drawn from a small description.

`describe(config)` says what exists (boxes and arrows, with coordinates on a fixed
canvas); `render_svg(diagram)` draws it. The diagram is accessible (role="img" with
<title> and <desc>, every box text-labelled) and uses SVG presentation attributes
only — no style attributes, no script — so it renders under our CSP
(style-src 'self'). The job boxes come from `trust.JOBS`, each with its schedule in
short words from its scheduler trigger, and the key-encryption key box says whether AWS
KMS or local keys are configured (never which key).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from markupsafe import Markup, escape

WIDTH, HEIGHT = 960, 700
INK, MUTED, LINE, BRAND = "#1b1f2a", "#5b6475", "#8a93a6", "#fe2c55"
FILLS = {"box": "#ffffff", "external": "#f3f4f8", "group": "#fbfbfd", "job": "#ffffff"}
FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    note: str
    x: int
    y: int
    w: int
    h: int
    kind: str = "box"  # box | external (outside our app) | group (frames jobs) | job

    @property
    def title(self) -> str:
        return f"{self.label} ({self.note})" if self.note else self.label


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str
    via: tuple[tuple[int, int], ...] = ()  # bend points, for routing round other boxes


@dataclass(frozen=True)
class Diagram:
    title: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...] = field(default=())

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)

    def sentences(self) -> list[str]:
        """The diagram as text: one sentence per arrow (for <desc> and the text version)."""
        return [
            f"{self.node(e.source).title} → {self.node(e.target).title}: {e.label}."
            for e in self.edges
        ]


def describe(config: Mapping[str, Any], when: Callable[..., str]) -> Diagram:
    """`when` is jobs.when; its short form of a job's schedule is what fits in the job's box."""
    from app.services.trust import JOBS, key_protection

    kek_note = "AWS KMS" if key_protection(config) == "AWS KMS" else "local keys (TOKEN_KEYS)"
    job_ids = [j.name for j in JOBS]
    nodes = [
        Node("browser", "Browser", "people who sign in", 20, 40, 190, 70, "external"),
        Node("app", "Flask app", "pages, htmx partials", 250, 40, 210, 70),
        Node("database", "Database", "PostgreSQL or SQLite", 560, 40, 180, 70),
        Node("kek", "Key-encryption key", kek_note, 20, 170, 190, 60, "external"),
        Node("sealing", "Token sealing", "AES-256-GCM envelopes", 250, 170, 210, 60),
        Node("scheduler", "Scheduler jobs", "in-process", 230, 270, 290, 410, "group"),
        Node("accounts_api", "TikTok Accounts API", "tokens, profile, posts", 730, 295, 210, 110, "external"),
        Node("marketing_api", "TikTok Marketing API", "Spark Ads reports", 730, 420, 210, 60, "external"),
        Node("smtp", "SMTP", "weekly report emails", 730, 500, 210, 60, "external"),
    ]
    order = ["refresh-tokens", "revoke-retry", "token-check", "sync", "weekly-reports", "report-retries", "deletion-notices", "purge"]
    ordered = [j for j in order if j in job_ids] + [j for j in job_ids if j not in order]
    for i, name in enumerate(ordered):
        nodes.append(Node(name, name, when(name, short=True), 250, 315 + 45 * i, 250, 40, "job"))
    edges = [
        Edge("browser", "app", "HTTPS, session cookie and CSRF token"),
        Edge("app", "database", "reads and writes"),
        Edge("app", "sealing", "seal and open tokens"),
        Edge("sealing", "kek", "wrap and unwrap data keys"),
        Edge("app", "accounts_api", "OAuth code exchange, Refresh now, revoke on disconnect", via=((835, 170),)),
        Edge("scheduler", "sealing", "open tokens"),
        Edge("scheduler", "database", "claims work, upserts, deletes", via=((650, 290),)),
        Edge("refresh-tokens", "accounts_api", "refresh tokens"),
        Edge("revoke-retry", "accounts_api", "revoke tokens"),
        Edge("token-check", "accounts_api", "is the grant alive"),
        Edge("sync", "accounts_api", "profile, posts, metrics"),
        Edge("sync", "marketing_api", "Spark Ads figures"),
        Edge("weekly-reports", "smtp", "report emails"),
        Edge("report-retries", "smtp", "report emails that failed, after backoff"),
        Edge("deletion-notices", "smtp", "deletion request notices"),
    ]
    known = {n.id for n in nodes}
    edges = [e for e in edges if e.source in known and e.target in known]
    return Diagram("Logic Target architecture", tuple(nodes), tuple(edges))


# ------------------------------------------------------------------ drawing


def _clamp(v: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, v))


def _anchor(n: Node, toward: tuple[float, float]) -> tuple[float, float]:
    """A point on `n`'s border facing `toward`: the side it mostly lies beyond, as level
    with `toward` as that side allows (so parallel boxes get straight arrows)."""
    cx, cy = n.x + n.w / 2, n.y + n.h / 2
    dx, dy = toward[0] - cx, toward[1] - cy
    if abs(dx) * n.h >= abs(dy) * n.w:
        x = n.x + n.w if dx > 0 else n.x
        return x, _clamp(toward[1], n.y + 8, n.y + n.h - 8)
    y = n.y + n.h if dy > 0 else n.y
    return _clamp(toward[0], n.x + 12, n.x + n.w - 12), y


def _route(d: Diagram, e: Edge) -> list[tuple[float, float]]:
    src, dst = d.node(e.source), d.node(e.target)
    if not e.via:  # boxes side by side (or stacked) with some overlap: one straight arrow
        lo, hi = max(src.y, dst.y) + 8, min(src.y + src.h, dst.y + dst.h) - 8
        if lo <= hi and (src.x + src.w < dst.x or dst.x + dst.w < src.x):
            y = (lo + hi) / 2
            return [_anchor(src, (dst.x + dst.w / 2, y)), _anchor(dst, (src.x + src.w / 2, y))]
        lo, hi = max(src.x, dst.x) + 12, min(src.x + src.w, dst.x + dst.w) - 12
        if lo <= hi and (src.y + src.h < dst.y or dst.y + dst.h < src.y):
            x = (lo + hi) / 2
            return [_anchor(src, (x, dst.y + dst.h / 2)), _anchor(dst, (x, src.y + src.h / 2))]
    first = e.via[0] if e.via else (dst.x + dst.w / 2, dst.y + dst.h / 2)
    last = e.via[-1] if e.via else (src.x + src.w / 2, src.y + src.h / 2)
    return [_anchor(src, first), *e.via, _anchor(dst, last)]


def _num(v: float) -> str:
    return f"{v:g}"


def _text(x: float, y: float, s: str, *, size: int = 14, weight: str = "normal", fill: str = INK,
          anchor: str = "middle", cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return (f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}" font-size="{size}" '
            f'font-weight="{weight}" fill="{fill}"{klass}>{escape(s)}</text>')


def _node_svg(n: Node) -> str:
    dash = ' stroke-dasharray="6 4"' if n.kind == "group" else ""
    stroke = BRAND if n.id == "app" else LINE
    parts = [f'<g class="arch-node arch-{n.kind}" data-node="{escape(n.id)}">',
             f'<rect x="{n.x}" y="{n.y}" width="{n.w}" height="{n.h}" rx="10" fill="{FILLS[n.kind]}" '
             f'stroke="{stroke}" stroke-width="1.5"{dash}/>']
    if n.kind == "group":
        parts.append(_text(n.x + 14, n.y + 24, n.label, weight="bold", anchor="start"))
        parts.append(_text(n.x + n.w - 14, n.y + 24, n.note, size=12, fill=MUTED, anchor="end"))
    elif n.kind == "job":
        parts.append(_text(n.x + 12, n.y + n.h / 2 + 5, n.label, size=13, weight="bold", anchor="start"))
        parts.append(_text(n.x + n.w - 12, n.y + n.h / 2 + 5, n.note, size=12, fill=MUTED, anchor="end"))
    else:
        cx, cy = n.x + n.w / 2, n.y + n.h / 2
        parts.append(_text(cx, cy - 3, n.label, size=15, weight="bold"))
        parts.append(_text(cx, cy + 16, n.note, size=12, fill=MUTED))
    parts.append("</g>")
    return "".join(parts)


def _edge_svg(d: Diagram, e: Edge, arrow_id: str) -> str:
    pts = _route(d, e)
    path = "M" + " L".join(f"{_num(x)},{_num(y)}" for x, y in pts)
    return (f'<path class="arch-edge" data-edge="{escape(e.source)}->{escape(e.target)}" d="{path}" '
            f'fill="none" stroke="{MUTED}" stroke-width="1.5" marker-end="url(#{arrow_id})">'
            f'<title>{escape(e.label)}</title></path>')


def render_svg(d: Diagram, *, id_prefix: str = "arch") -> Markup:
    """Inline SVG markup for `d` (safe to put in a template as is)."""
    title_id, desc_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" class="arch-diagram" font-family="{FONT}">',
        f'<title id="{title_id}">{escape(d.title)}</title>',
        f'<desc id="{desc_id}">{escape(" ".join(d.sentences()))}</desc>',
        f'<defs><marker id="{id_prefix}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
        f'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{MUTED}"/></marker></defs>',
    ]
    groups = [n for n in d.nodes if n.kind == "group"]
    out += [_node_svg(n) for n in groups]
    out += [_edge_svg(d, e, f"{id_prefix}-arrow") for e in d.edges]
    out += [_node_svg(n) for n in d.nodes if n.kind != "group"]
    out.append("</svg>")
    return Markup("".join(out))
