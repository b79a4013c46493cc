"""The colour pairs axe-core does not check, held to WCAG 2.2 AA: the focus ring and
input borders (non-text, ≥3:1 against what surrounds them) and the colours text is set in
on filled buttons, deltas and badges (≥4.5:1). axe-core checks rendered text on every
page (tests/browser/test_accessibility.py); this keeps the palette honest in one place."""
import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "app" / "static"


def variables() -> dict[str, str]:
    root = re.search(r":root\s*\{(.*?)\}", (STATIC / "app.css").read_text(), re.S).group(1)
    found = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3})\b", root))
    return {k: "#" + "".join(c * 2 for c in v[1:]) if len(v) == 4 else v for k, v in found.items()}


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


WHITE = "#ffffff"
TOPBAR = "#111827"


@pytest.mark.parametrize("fg, bg, minimum", [
    ("brand-ink", "brand-strong", 4.5),  # text on filled (primary) buttons
    ("ok", WHITE, 4.5), ("ok", "bg", 4.5),  # green deltas and "on cadence"
    ("warn", WHITE, 4.5), ("err", WHITE, 4.5), ("muted", "bg", 4.5),
    ("brand-text", WHITE, 4.5),
    ("focus", WHITE, 3.0), ("focus", "bg", 3.0), ("focus", "card", 3.0),  # the focus ring
    ("field-line", WHITE, 3.0),  # an input's outline is how one finds it
])
def test_palette_pair_meets_wcag_aa(fg, bg, minimum):
    v = variables()
    colour = lambda name: name if name.startswith("#") else v[name]  # noqa: E731
    assert contrast(colour(fg), colour(bg)) >= minimum, (fg, bg)


def test_the_old_failures_would_fail():
    assert contrast(WHITE, "#fe2c55") < 4.5  # white on the brand pink: 3.7:1
    assert contrast("#25c2d8", WHITE) < 3.0  # the old cyan focus ring: 2.1:1


def test_focus_ring_is_white_on_the_dark_top_bar():
    css = (STATIC / "app.css").read_text()
    assert ".topbar :focus-visible" in css and contrast(WHITE, TOPBAR) >= 3.0
    assert re.search(r":focus-visible \{ outline: 3px solid var\(--focus\)", css)
