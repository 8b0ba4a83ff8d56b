"""No step needs PlatformIO's registry: with every HTTP(S) request sent to a closed
local port, building and testing still succeed (a registry call would fail at once)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from projkit import buildable_copy

PROJECT = Path(__file__).resolve().parents[1]
PIO = PROJECT / ".venv" / "bin" / "pio"

pytestmark = pytest.mark.skipif(not (PROJECT / ".platformio" / "platforms" / "atmelavr").is_dir(),
                                reason="needs ./run.sh setup")


def offline_env() -> dict[str, str]:
    env = dict(os.environ)
    dead = "http://127.0.0.1:9"  # the discard port: nothing listens, connections are refused
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        env[key] = dead
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    return env


@pytest.fixture(scope="module")
def offline_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project to build in (never the checkout, where a concurrent `pio run` holds the lock)."""
    return buildable_copy(tmp_path_factory.mktemp("offline") / "proj")[0]


@pytest.mark.parametrize("args", [
    ["run", "-e", "megaatmega2560"],
    ["run", "-e", "native"],
    ["test", "-e", "native", "-f", "common/test_microtest"],
    ["test", "-e", "megaatmega2560", "-f", "common/test_microtest"],
    # framework = arduino: the Arduino AVR core comes from Debian, not from the registry
    ["run", "-e", "megaatmega2560-arduino"],
    ["run", "-e", "uno-arduino-monitor"],
    ["test", "-e", "megaatmega2560-arduino"],
])
def test_pio_needs_no_registry(args: list[str], offline_project: Path) -> None:
    run = subprocess.run([str(PIO), *args], cwd=offline_project, env=offline_env(), capture_output=True,
                         text=True, timeout=600)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    assert "HTTPClientError" not in out and "registry" not in out.lower()
