"""Every canonical TikTok fixture names the documented example it follows (tests/fixtures/tiktok/README.md).

JSON has no comments, so the README's table is where a fixture says which TikTok doc, SDK file or
client it is shaped after. A fixture added without a row, a row with an empty "follows" cell, or a
row for a file that no longer exists fails here.
"""
from __future__ import annotations

import json
import re

import pytest

from tests.tiktok_fixtures import FIXTURES, RENAMED, load

README = FIXTURES / "README.md"
ROW = re.compile(r"^\|\s*`(?P<file>[^`]+\.json)`\s*\|(?P<case>[^|]*)\|(?P<follows>.*)\|\s*$")


def table() -> dict[str, dict[str, str]]:
    """The README table rows by file name: {"case": …, "follows": …}."""
    lines = README.read_text(encoding="utf-8").splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| file |"))
    columns = [c.strip() for c in lines[header].strip("|").split("|")]
    assert columns[0] == "file" and columns[-1] == "follows" and len(columns) == 3, columns
    rows: dict[str, dict[str, str]] = {}
    for line in lines[header + 2:]:
        if not line.startswith("|"):
            break
        match = ROW.match(line)
        assert match, f"README row not of the form | `file.json` | case | follows |: {line}"
        assert match["file"] not in rows, f"{match['file']} has two rows"
        rows[match["file"]] = {"case": match["case"].strip(), "follows": match["follows"].strip()}
    return rows


def test_every_fixture_file_has_a_row_naming_what_it_follows():
    rows = table()
    on_disk = sorted(p.name for p in FIXTURES.glob("*.json"))
    missing = [name for name in on_disk if name not in rows]
    assert not missing, f"fixtures without a row in README.md: {missing}"
    gone = sorted(set(rows) - set(on_disk))
    assert not gone, f"README.md rows for files that do not exist: {gone}"
    for name, row in rows.items():
        assert row["case"], f"{name}: empty case"
        # A source is a name, not a shrug: at least a few words, and not a placeholder.
        assert len(row["follows"]) >= 15 and row["follows"].lower() not in {"-", "n/a", "todo", "tbd", "?"}, (
            f"{name}: the 'follows' column must name TikTok's doc/SDK example it is shaped after"
        )


def test_the_readme_stands_alone():
    """Sources are public docs, SDKs and repositories: nothing that lives outside this repository."""
    text = README.read_text(encoding="utf-8")
    for outside in ("/work/", "TIKTOK_API.md", "DESIGN.md"):
        assert outside not in text, f"README.md cites {outside!r}"
    assert not re.search(r"§\s*\d", text.replace("RFC 6749 §6", "")), "README.md cites a section of some local doc"


@pytest.mark.parametrize("old", sorted(RENAMED))
def test_renamed_fixtures_still_load_under_their_old_names(old):
    assert load(old) == load(RENAMED[old])
    assert not (FIXTURES / f"{old}.json").exists()


def test_undocumented_codes_are_named_as_such():
    """Only 0, 40100, 40101 and 40110 are mapped; a fixture with any other code must not claim a meaning."""
    documented = {0: None, 40100: "error_rate_limited", 40101: "error_invalid_client", 40110: "error_auth_code_invalid"}
    for path in FIXTURES.glob("*.json"):
        body = json.loads(path.read_text(encoding="utf-8"))
        code = body.get("code") if isinstance(body, dict) else None
        if not isinstance(code, int) or code == 0:
            continue
        if code in documented:
            assert path.stem == documented[code], (path.name, code)
        else:
            assert path.stem in {f"error_undocumented_{code}", "error_other", "error_internal"}, (
                f"{path.name} carries the undocumented code {code} under a name that gives it a meaning"
            )
            if path.stem.startswith("error_undocumented_"):
                assert "undocumented" in table()[path.name]["case"], path.name
