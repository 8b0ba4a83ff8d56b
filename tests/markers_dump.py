"""A pytest plugin for tests/test_suite_markers.py: after collection, print one JSON line
{node id without parameters: sorted marker names}. Not a test module."""

from __future__ import annotations

import json

MARK = "MARKERS-JSON: "


def pytest_collection_finish(session) -> None:
    marks: dict[str, list[str]] = {}
    for item in session.items:
        marks[item.nodeid.split("[")[0]] = sorted({m.name for m in item.iter_markers()})
    print("\n" + MARK + json.dumps(marks))
