"""Shared accessibility checks for browser tests: axe-core's serious and critical findings,
and the page scrolling sideways (the phone-layout failure a screenshot would not show)."""
from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

_AXE = Axe()
# WCAG 2.0/2.1/2.2 A and AA rules plus axe's best practices; "minor"/"moderate" findings
# are reported by axe too but only serious and critical ones fail a page.
_OPTIONS = {"resultTypes": ["violations"],
            "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                                  "wcag22aa", "best-practice"]}}
FAILING_IMPACTS = ("serious", "critical")


def _summary(violation: dict) -> str:
    lines = [f"{violation['id']} ({violation['impact']}): {violation['help']}"]
    for node in violation["nodes"][:5]:
        target = " ".join(str(t) for t in node["target"])
        lines.append(f"    at {target}: {node.get('failureSummary', '').replace(chr(10), ' ')}")
        lines.append(f"       {node.get('html', '')[:160]}")
    if len(violation["nodes"]) > 5:
        lines.append(f"    … and {len(violation['nodes']) - 5} more elements")
    return "\n".join(lines)


def serious_axe_violations(page, context: str | None = None) -> list[str]:
    """axe-core's serious and critical violations on the page as it stands, one readable
    summary each (rule, help text, the first elements with why they fail); [] when clean.

    `context` narrows the scan to a CSS selector (e.g. one swapped-in panel)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):  # see preload_axe
        page.evaluate(_AXE.axe_script)
    response = page.evaluate("([context, options]) => axe.run(context || document, options)", [context, _OPTIONS])
    return [_summary(v) for v in response["violations"] if v["impact"] in FAILING_IMPACTS]


def preload_axe(context) -> None:
    """Have the browser context load axe-core into every page it opens, instead of each
    scan sending the script (about 0.5 MB) over the DevTools connection."""
    context.add_init_script(_AXE.axe_script)


def sideways_scroll(page) -> dict | None:
    """None when the page fits its viewport's width; else the widths and the widest
    elements that stick out, to say what to fix."""
    return page.evaluate("""() => {
        const doc = document.scrollingElement, width = window.innerWidth;
        if (doc.scrollWidth <= width) return null;
        const culprits = [];
        for (const el of document.body.querySelectorAll('*')) {
            const r = el.getBoundingClientRect();
            if (r.right > width + 1 && r.width > 0) {
                const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                    + (el.className && typeof el.className === 'string'
                       ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
                culprits.push(name + ' right=' + Math.round(r.right));
            }
        }
        return {scrollWidth: doc.scrollWidth, innerWidth: width, culprits: culprits.slice(0, 8)};
    }""")


def assert_no_sideways_scroll(page) -> None:
    """document.scrollingElement.scrollWidth <= innerWidth: nothing makes the page itself
    scroll sideways (a wide table may scroll inside its own card)."""
    overflow = sideways_scroll(page)
    assert overflow is None, f"{page.url} scrolls sideways: {overflow}"


def assert_accessible(page, context: str | None = None) -> None:
    """No serious/critical axe violations and no sideways scroll, with a readable message."""
    found = serious_axe_violations(page, context)
    assert not found, f"{page.url}: axe-core found\n" + "\n".join(found)
    assert_no_sideways_scroll(page)
