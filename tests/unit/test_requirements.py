"""Every runtime dependency earns its place: requirements.txt lists only packages the app
imports, or ones README's "Stack" section names with the reason they are installed
without an import."""
from __future__ import annotations

import ast
import re
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["app", "jobs", "migrations", "wsgi.py", "gunicorn.conf.py", "config.py"]


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements() -> set[str]:
    names = set()
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(normalise(re.split(r"[\[=<>~!; ]", line, maxsplit=1)[0]))
    return names


def imported_modules() -> set[str]:
    """Top-level names of every module imported anywhere in the app's own code."""
    found = set()
    for name in SOURCES:
        path = ROOT / name
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            for node in ast.walk(ast.parse(file.read_text(), str(file))):
                if isinstance(node, ast.Import):
                    found |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    found.add(node.module.split(".")[0])
    return found


def imported_distributions() -> set[str]:
    dists = packages_distributions()
    return {normalise(d) for module in imported_modules() for d in dists.get(module, [])}


def stack_section() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split("\n## Stack\n", 1)[1].split("\n## ", 1)[0]


def explained_in_readme() -> set[str]:
    """Packages the Stack section lists as installed without an import (`- `name`: why`)."""
    return {normalise(n) for n in re.findall(r"^- `([A-Za-z0-9_.\-\[\]]+?)(?:\[\w+\])?`:", stack_section(), re.M)}


def test_every_requirement_is_imported_or_explained():
    unused = requirements() - imported_distributions() - explained_in_readme()
    assert not unused, f"imported nowhere and not explained in README's Stack section: {sorted(unused)}"


def test_the_readme_explains_only_packages_that_are_really_installed_and_not_imported():
    explained = explained_in_readme()
    assert explained, "README's Stack section lists no package"
    assert explained <= requirements(), explained - requirements()
    assert not explained & imported_distributions(), "imported after all: drop its line from README's Stack section"


def test_the_scan_sees_imports():
    assert {"flask", "sqlalchemy", "alembic", "apscheduler", "dotenv"} <= imported_modules()
