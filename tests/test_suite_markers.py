"""The markers tests/conftest.py applies: pio, shared and slow land where they belong.

Collects the suite once in a subprocess with tests/markers_dump.py, which prints every test's markers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from markers_dump import MARK
from projkit import ROOT


@pytest.fixture(scope="module")
def marked() -> dict[str, set[str]]:
    """{"pio" | "shared" | "not slow": node ids (without parameters)} of the whole suite."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "markers_dump",
                          "--collect-only", "-q"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    line = next(line for line in run.stdout.splitlines() if line.startswith(MARK))
    marks = {node: set(names) for node, names in json.loads(line[len(MARK):]).items()}
    return {"pio": {n for n, m in marks.items() if "pio" in m},
            "shared": {n for n, m in marks.items() if "shared" in m},
            "not slow": {n for n, m in marks.items() if "slow" not in m}}


def test_pio_marks_builds_and_the_simulated_board(marked) -> None:
    pio = marked["pio"]
    for node in ("tests/test_offline.py::test_pio_needs_no_registry",           # pio via a fixture
                 "tests/test_firmware.py::test_infer_matches_python_reference",  # a module-scoped build fixture
                 "tests/test_stream.py::test_samples_over_serial_equal_reference",  # streamkit
                 "tests/test_build_limits.py::test_small_program_builds_and_reports_sizes",
                 "tests/test_reliability.py::test_flooded_requests_never_wedge_the_board"):
        assert node in pio, f"{node} is not marked pio"
    for node in ("tests/test_docs.py::test_python_names_exist",
                 "tests/test_reliability.py::test_yaml_error_is_one_line_without_unicode_string"):
        assert node not in pio, f"{node} is marked pio"


def test_shared_marks_the_mitbih_readers(marked) -> None:
    assert "tests/test_stream_records.py::test_full_record_equals_reference" in marked["shared"]
    assert "tests/test_docs.py::test_python_names_exist" not in marked["shared"]


def test_quick_selection_leaves_out_pio_shared_and_slow(marked) -> None:
    quick = marked["not slow"]
    assert quick and not quick & (marked["pio"] | marked["shared"])
    assert "tests/test_search.py::test_same_model_and_header_bytes_from_a_dask_cluster" not in quick
    assert "tests/test_docs.py::test_python_names_exist" in quick
