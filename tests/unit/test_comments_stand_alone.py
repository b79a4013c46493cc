"""Comments and docs must make sense to someone who has only this repository: none may
point at planning documents that are not part of it (by file name or case number)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = re.compile(
    r"\b(?:DESIGN|SECURITY|USERS|STYLE|TIKTOK_API)\.md\b"   # the planning documents by name
    r"|/work/shared|\.\./shared/"                           # or by where they live
    r"|\bSECURITY (?:case|cases|§)|\bpain point \d"         # or by their case numbers
)
THIS_FILE = Path(__file__).resolve()


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in out.decode().split("\0") if name]


def test_no_file_cites_documents_outside_the_repository():
    offenders = []
    for path in tracked_files():
        if path.resolve() == THIS_FILE or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary files say nothing
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line) and "test_fixture_sources" not in path.name:
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert offenders == []
