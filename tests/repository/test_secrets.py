"""No credentials in git: .env stays untracked, and no tracked file holds a key or a token."""

from __future__ import annotations

import re
import subprocess

from devkit.processes import REPO_ROOT

# Shapes of real secrets (the compose defaults are visibly placeholders: change-me-...).
SECRET_SHAPES = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Docker Hub token": re.compile(r"\bdckr_pat_[A-Za-z0-9_-]{20,}\b"),
}


def tracked_files() -> list[str]:
    result = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return [name for name in result.stdout.split("\0") if name]


def test_dot_env_is_ignored_and_not_tracked():
    files = tracked_files()
    assert ".env" not in files and ".env.example" in files
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=REPO_ROOT)
    assert ignored.returncode == 0, ".env must be listed in .gitignore"


def test_no_tracked_file_holds_a_secret():
    found = []
    for name in tracked_files():
        path = REPO_ROOT / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        text = path.read_bytes().decode("utf-8", errors="ignore")
        found += [f"{name}: {kind}" for kind, shape in SECRET_SHAPES.items() if shape.search(text)]
    assert not found, found
