"""The documentation that describes the code: its module map names every module, and only those."""

from __future__ import annotations

import re

from devkit.processes import REPO_ROOT

PACKAGES = ("tracking", "trainer", "predictor", "devkit")
MAP_ROW = re.compile(r"^\| `([\w/.]+\.py)` \|", re.MULTILINE)


def test_the_architecture_module_map_matches_the_tree():
    rows = MAP_ROW.findall((REPO_ROOT / "docs" / "architecture.md").read_text())
    modules = {
        str(path.relative_to(REPO_ROOT))
        for package in PACKAGES
        for path in (REPO_ROOT / package).rglob("*.py")
        if not path.name.startswith("__") and "migrations" not in path.parts
    }
    assert len(rows) == len(set(rows)), "a module is listed twice"
    assert sorted(modules - set(rows)) == [], "modules missing from docs/architecture.md's module map"
    assert sorted(set(rows) - modules) == [], "rows of docs/architecture.md's module map with no module"
