"""Docs name only what exists: every path, Python name and command in the docs (tests/docs_names.py).

A failure lists one stale name per line (doc:line: 'name': why) so each can be fixed where it is.
"""

from __future__ import annotations

import subprocess

import pytest

from docs_names import ROOT, stale_commands, stale_paths, stale_python_names, tracked_docs


def _source_files() -> list[str]:
    """Tracked text files that may name tinybeat.x modules in comments (C, Python, ini, shell)."""
    out = subprocess.run(["git", "ls-files", "-z", "--", "*.py", "*.c", "*.h", "*.cpp", "*.ino", "*.ini", "*.sh",
                          "*.yaml", "*.md"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    own = {"tests/docs_names.py", "tests/test_docs.py"}  # their examples (tinybeat.x.y) are not names
    return [rel for rel in out.split("\0") if rel and rel not in own and (ROOT / rel).is_file()]


def _report(stale: list) -> str:
    return f"{len(stale)} stale name(s):\n" + "\n".join(str(s) for s in stale)


def test_docs_are_found() -> None:
    names = {str(p.relative_to(ROOT)) for p in tracked_docs()}
    assert {"README.md", "data/README.md", "bench/README.md", "lib/TinyBeatArduino/library.properties"} <= names


@pytest.mark.parametrize("check", [stale_paths, stale_commands], ids=["paths", "commands"])
def test_docs_name_only_what_exists(check) -> None:
    stale = [s for doc in tracked_docs() for s in check(doc, doc.read_text())]
    assert not stale, _report(stale)


def test_python_names_exist() -> None:
    """tinybeat.x.y names in docs and in source comments are modules or their attributes."""
    stale = [s for rel in _source_files() for s in stale_python_names(rel, (ROOT / rel).read_text())]
    assert not stale, _report(stale)
