"""The custom PlatformIO test runner (test/test_custom_runner.py) reports failures, hangs and crashes.

A throw-away PlatformIO project in tmp_path gets the runner, lib/microtest and
a few deliberately bad suites; `pio test` must fail and say why:
- a failing MT_ASSERT_EQ_INT is FAILED with file:line and "expected ... was ...",
  while the passing test beside it is PASSED;
- a suite that hangs on the simulated AVR is stopped by avr-vboard's TIMEOUT;
- a suite that crashes or exits before its summary line is ERRORED.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from projkit import ROOT

PIO = ROOT / ".venv" / "bin" / "pio"
VBOARD = ROOT / ".platformio" / "packages" / "tool-simavr" / "bin" / "avr-vboard"

pytestmark = [
    pytest.mark.skipif(not PIO.is_file(), reason=f"{PIO} is missing"),
    pytest.mark.skipif(shutil.which("gcc") is None, reason="the host gcc is not installed"),
]

PLATFORMIO_INI = f"""\
[platformio]
core_dir = {ROOT / ".platformio"}

[env:native]
platform = native
test_framework = custom

[env:mega]
platform = atmelavr
board = megaatmega2560
test_framework = custom
custom_sim_timeout = 3
"""

SUITES = {
    # one passing and one failing assertion (line numbers matter: see FAIL_LINE)
    "test_mixed": """\
#include "microtest.h"

static void test_passes(void) { MT_ASSERT_EQ_INT(42, 6 * 7); }

static void test_fails(void)
{
	MT_ASSERT_EQ_INT(42, 6 * 7 + 1);
	MT_ASSERT_TRUE(0); /* never reached: the failed assertion returned */
}

int main(void)
{
	mt_begin();
	MT_RUN(test_passes);
	MT_RUN(test_fails);
	return mt_end();
}
""",
    # passes one test, then never finishes
    "test_hang": """\
#include "microtest.h"

static void test_passes(void) { MT_ASSERT_TRUE(1); }

int main(void)
{
	volatile unsigned long spin = 0;
	mt_begin();
	MT_RUN(test_passes);
	for (;;)
		spin++;
	return mt_end();
}
""",
    # passes one test, then crashes
    "test_crash": """\
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include "microtest.h"

static void test_passes(void) { MT_ASSERT_TRUE(1); }

int main(void)
{
	mt_begin();
	MT_RUN(test_passes);
	fflush(stdout);
	raise(SIGSEGV);
	return mt_end();
}
""",
    # passes one test, then exits successfully without the summary line
    "test_early_exit": """\
#include <stdlib.h>
#include "microtest.h"

static void test_passes(void) { MT_ASSERT_TRUE(1); }

int main(void)
{
	mt_begin();
	MT_RUN(test_passes);
	exit(0);
}
""",
}
FAIL_LINE = 7  # line of MT_ASSERT_EQ_INT(42, 6 * 7 + 1) in test_mixed/test_main.c


@dataclass
class PioTest:
    returncode: int
    output: str
    cases: dict[str, list[dict]]  # suite name -> its test cases from --json-output-path
    seconds: float


@pytest.fixture(scope="module")
def fixture_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PlatformIO project with the project's runner and microtest, and the suites above."""
    project = tmp_path_factory.mktemp("pio") / "harness"
    (project / "test").mkdir(parents=True)
    (project / "platformio.ini").write_text(PLATFORMIO_INI)
    shutil.copytree(ROOT / "lib" / "microtest", project / "lib" / "microtest")
    shutil.copy2(ROOT / "test" / "test_custom_runner.py", project / "test" / "test_custom_runner.py")
    for name, source in SUITES.items():
        (project / "test" / name).mkdir()
        (project / "test" / name / "test_main.c").write_text(source)
    return project


def pio_test(project: Path, env: str, suites: list[str], timeout_s: float = 300) -> PioTest:
    """Run `pio test` on some suites; return its exit code, output and the JSON report's cases."""
    report = project / f"report-{env}-{'-'.join(suites)}.json"
    cmd = [str(PIO), "test", "-d", str(project), "-e", env, "--json-output-path", str(report)]
    for suite in suites:
        cmd += ["-f", suite]
    env_vars = {**os.environ, "PLATFORMIO_NO_ANSI": "true"}
    t0 = time.monotonic()
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env_vars)
    seconds = time.monotonic() - t0
    cases: dict[str, list[dict]] = {}
    if report.is_file():
        for suite in json.loads(report.read_text())["test_suites"]:
            if suite["env_name"] == env:  # the report also lists every other env's suites as SKIPPED
                cases[suite["test_name"]] = suite["test_cases"]
    return PioTest(run.returncode, run.stdout + run.stderr, cases, seconds)


@pytest.fixture(scope="module")
def native_run(fixture_project: Path) -> PioTest:
    """The native suites (not the hanging one: native runs have no timeout)."""
    return pio_test(fixture_project, "native", ["test_mixed", "test_crash", "test_early_exit"])


def _case(result: PioTest, suite: str, name: str) -> dict:
    matches = [c for c in result.cases.get(suite, []) if c["name"] == name]
    assert len(matches) == 1, f"{suite}/{name} not reported once: {result.cases.get(suite)}\n{result.output}"
    return matches[0]


def test_failing_assertion_fails_the_run(native_run: PioTest) -> None:
    """pio test exits non-zero; PASSED and FAILED per test, with file:line and expected/actual."""
    assert native_run.returncode != 0, native_run.output
    passed = _case(native_run, "test_mixed", "test_passes")
    failed = _case(native_run, "test_mixed", "test_fails")
    assert passed["status"] == "PASSED"
    assert failed["status"] == "FAILED"
    assert failed["source"]["file"].endswith("test_mixed/test_main.c") and failed["source"]["line"] == FAIL_LINE
    assert "expected 42 was 43" in failed["message"] and "6 * 7 + 1" in failed["message"], failed
    out = native_run.output
    assert f"test_main.c:{FAIL_LINE}: test_fails: 6 * 7 + 1: expected 42 was 43" in out, out
    fail_line = next(line for line in out.splitlines() if "test_fails" in line and "expected 42" in line)
    assert "[FAILED]" in fail_line
    assert any("test_passes" in line and "[PASSED]" in line for line in out.splitlines()), out
    assert len(native_run.cases["test_mixed"]) == 2  # the summary matched: no extra ERRORED case


def test_crash_before_summary_is_errored(native_run: PioTest) -> None:
    """A program killed by a signal after a passing test: the suite is ERRORED, naming the signal."""
    errored = [c for c in native_run.cases.get("test_crash", []) if c["status"] == "ERRORED"]
    assert errored and "SIGSEGV" in errored[0]["exception"], native_run.cases.get("test_crash")
    assert "Program received signal SIGSEGV" in native_run.output
    assert any(line.split()[:3] == ["native", "test_crash", "ERRORED"] for line in native_run.output.splitlines())


def test_exit_before_summary_is_errored(native_run: PioTest) -> None:
    """A program exiting 0 without the summary line: ERRORED, although no test failed."""
    cases = native_run.cases.get("test_early_exit", [])
    assert _case(native_run, "test_early_exit", "test_passes")["status"] == "PASSED"
    errored = [c for c in cases if c["status"] == "ERRORED"]
    assert errored, cases
    assert "ended without its summary line" in errored[0]["exception"], errored
    # (the console shows the ERRORED status, but not this reason: see the runner's check_summary)
    assert any(line.split()[:3] == ["native", "test_early_exit", "ERRORED"] for line in native_run.output.splitlines())


needs_avr_gcc = pytest.mark.skipif(shutil.which("avr-gcc") is None, reason="avr-gcc is not installed")
needs_vboard = pytest.mark.skipif(not VBOARD.is_file(), reason=f"{VBOARD} is missing (./run.sh setup)")


@pytest.fixture(scope="module")
def hang_run(fixture_project: Path) -> PioTest:
    """The hanging suite on the simulated ATmega2560 (custom_sim_timeout = 3)."""
    return pio_test(fixture_project, "mega", ["test_hang"], timeout_s=120)


@needs_avr_gcc
@needs_vboard
def test_hang_on_simulated_avr_times_out(hang_run: PioTest) -> None:
    """A suite that never ends on the simulated ATmega2560 fails with avr-vboard's TIMEOUT (3 s, counted in
    simulated and wall-clock time), not by pytest's subprocess timeout (no wall-clock bound here: a loaded
    host makes the build slower)."""
    assert hang_run.returncode != 0, hang_run.output
    assert "avr-vboard: TIMEOUT" in hang_run.output and "within 3 s" in hang_run.output, hang_run.output
    # the output before the hang still arrived
    assert _case(hang_run, "test_hang", "test_passes")["status"] == "PASSED"
    assert any(c["status"] == "ERRORED" for c in hang_run.cases["test_hang"]), hang_run.cases
    assert any(line.split()[:3] == ["mega", "test_hang", "ERRORED"] for line in hang_run.output.splitlines())


@needs_avr_gcc
@needs_vboard
def test_hang_error_names_the_timeout_not_a_signal(hang_run: PioTest) -> None:
    """The ERRORED case's reason should say the simulator timed out, not name an unrelated signal."""
    errored = [c for c in hang_run.cases["test_hang"] if c["status"] == "ERRORED"]
    assert errored and "SIGQUIT" not in errored[0]["exception"], errored
