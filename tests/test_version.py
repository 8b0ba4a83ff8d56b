"""One version: python/tinybeat/__init__.py's __version__; everything else that states one agrees.

pyproject.toml reads it (dynamic version), the firmware and the Arduino library take it from the
generated header (TB_MODEL_VERSION); the PlatformIO and Arduino library manifests, which cannot
refer to it, are checked here.
"""

from __future__ import annotations

import json
import re
from importlib import metadata
from pathlib import Path

import numpy as np

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = None

from projkit import ROOT, c_define
from tinybeat import __version__
from tinybeat.codegen.c_header import model_header
from tinybeat.core.families.dense import DenseModel


def test_version_is_semver() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__), __version__


def test_pyproject_reads_the_package_version() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    if tomllib is not None:
        project = tomllib.loads(text)
        assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
        assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "tinybeat.__version__"}
    else:
        assert re.search(r'^version = \{attr = "tinybeat.__version__"\}$', text, flags=re.M)
    try:
        installed = metadata.version("tinybeat")
    except metadata.PackageNotFoundError:
        return  # run from the source tree without `pip install -e .`
    assert installed == __version__, "reinstall (./run.sh setup): the installed metadata is stale"


def test_every_library_manifest_agrees() -> None:
    manifests = sorted((ROOT / "lib").glob("*/library.json"))
    assert len(manifests) >= 6, manifests
    for path in manifests:
        assert json.loads(path.read_text())["version"] == __version__, path
    props = (ROOT / "lib" / "TinyBeatArduino" / "library.properties").read_text()
    assert re.search(r"^version=(.+)$", props, flags=re.M).group(1) == __version__


def test_c_sources_take_the_generated_version() -> None:
    """No version literal in C: the firmware and the Arduino library use TB_MODEL_VERSION."""
    for rel in ("src/avr/main.c", "lib/TinyBeatArduino/src/TinyBeatArduino.cpp"):
        text = (ROOT / rel).read_text()
        assert re.search(r"^#define \w+_VERSION TB_MODEL_VERSION$", text, flags=re.M), rel
        assert not re.search(r'"\d+\.\d+\.\d+"', text), f"{rel} states a version of its own"
    model = DenseModel("linear", np.zeros((0, 3), np.int8), np.zeros(0, np.int32), 1, 1,
                       np.array([1, -2, 3], np.int8), 5, 1.0)
    header = model_header(model, n_inputs=3, decision_threshold=0, fingerprint="ab" * 32, cycle_estimate=1,
                          cycle_budget=1)
    assert json.loads(c_define(header, "TB_MODEL_VERSION")) == __version__
