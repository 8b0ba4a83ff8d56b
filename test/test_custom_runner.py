"""PlatformIO test runner for the project's `microtest` harness (test_framework = custom).

Turns each harness line into its own PlatformIO test case (PASS or FAIL with
file:line and message) and checks the closing summary line.

On an embedded env the suites run on a real board when one is chosen
(`--upload-port`/`--test-port` or `upload_port`/`test_port` in platformio.ini);
otherwise they run on the simulated MCU (avr-vboard, built on simavr) with a
timeout, so a hang fails instead of blocking.
"""

import os
import re

import click
from platformio.public import TestCase, TestCaseSource, TestRunnerBase, TestStatus
from platformio.test.exception import UnitTestError
from platformio.test.runners.readers.native import NativeTestOutputReader
from platformio.test.runners.readers.serial import SerialTestOutputReader

CASE_RE = re.compile(
    r"^(?P<file>[^:\s][^:]*):(?P<line>\d+):(?P<name>[^:\s]+):(?P<status>PASS|FAIL)(?::\s*(?P<message>.*))?$"
)
SUMMARY_RE = re.compile(r"^(?P<tests>\d+) Tests (?P<failures>\d+) Failures (?P<ignored>\d+) Ignored$")
DEFAULT_SIM_TIMEOUT_S = 120


VBOARD_EXIT_CODES = {
    1: "avr-vboard could not load or run the firmware (see its message above)",
    2: "the simulated MCU crashed (see avr-vboard's message above)",
    3: "TIMEOUT: the suite did not finish within custom_sim_timeout; it probably hangs",
}


class SimulatorOutputReader(NativeTestOutputReader):
    """Runs the test firmware on avr-vboard (simavr) and streams its UART0."""

    @staticmethod
    def raise_for_status(return_code):
        if return_code in VBOARD_EXIT_CODES:
            raise UnitTestError(f"avr-vboard exited with {return_code}: {VBOARD_EXIT_CODES[return_code]}")
        NativeTestOutputReader.raise_for_status(return_code)

    def get_testing_command(self):
        runner = self.test_runner
        env_section = f"env:{runner.test_suite.env_name}"
        config = runner.project_config
        board = runner.platform.board_config(config.get(env_section, "board"))
        mcu = board.get("debug.simavr_target", board.get("build.mcu"))
        f_cpu = str(board.get("build.f_cpu")).rstrip("UL")
        timeout = config.get(env_section, "custom_sim_timeout", DEFAULT_SIM_TIMEOUT_S)
        vboard = os.path.join(config.get("platformio", "packages_dir"), "tool-simavr", "bin", "avr-vboard")
        if not os.path.isfile(vboard):
            raise UnitTestError(
                f"The simulated board {vboard} is missing: run ./run.sh setup, "
                "or choose a real board with --upload-port/--test-port."
            )
        elf = os.path.join(config.get("platformio", "build_dir"), runner.test_suite.env_name, "firmware.elf")
        return [vboard, "--mcu", mcu, "--freq", f_cpu, "--timeout", str(timeout), elf]


class CustomTestRunner(TestRunnerBase):
    """Parses microtest output into PlatformIO test cases."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._summary = None
        self._log = []

    # -- where the suite runs -------------------------------------------
    def uses_simulator(self):
        if not self.platform.is_embedded():
            return False
        env_section = f"env:{self.test_suite.env_name}"
        chosen = [
            self.options.upload_port,
            self.get_test_port(),
            self.project_config.get(env_section, "upload_port", None),
        ]
        return not any(chosen)

    def stage_building(self):
        if not self.uses_simulator():
            return super().stage_building()
        if self.options.without_building:
            return None
        click.secho("Building for the simulated MCU...", bold=True)
        try:
            return self.run_project_targets(["__test", "checkprogsize"])
        except Exception as exc:  # ReturnErrorCode and friends
            raise UnitTestError("Building stage has failed, see errors above.") from exc

    def stage_uploading(self):
        if self.uses_simulator():
            return None
        return super().stage_uploading()

    def stage_testing(self):
        if self.options.without_testing:
            return None
        click.secho("Testing...", bold=True)
        if self.uses_simulator():
            reader = SimulatorOutputReader(self)
        elif self.platform.is_embedded():
            reader = SerialTestOutputReader(self)
        else:
            reader = NativeTestOutputReader(self)
        try:
            reader.begin()
        except UnitTestError:
            # A failing suite exits non-zero; its failures are already test cases.
            if self._summary is None:
                raise
        self.check_summary()
        return None

    # -- parsing ---------------------------------------------------------
    def on_testing_line_output(self, line):
        line = line.rstrip("\r\n")
        self._log.append(line)
        if self.options.verbose:
            click.echo(line)
        text = line.strip()
        match = CASE_RE.match(text)
        if match:
            case = TestCase(
                name=match.group("name"),
                status=TestStatus.PASSED if match.group("status") == "PASS" else TestStatus.FAILED,
                message=(match.group("message") or "").strip() or None,
                stdout=text,
                source=TestCaseSource(filename=match.group("file"), line=int(match.group("line"))),
            )
            self.test_suite.add_case(case)
            if not self.options.verbose:
                click.echo(case.humanize())
            return
        match = SUMMARY_RE.match(text)
        if match:
            self._summary = {k: int(v) for k, v in match.groupdict().items()}
            self.test_suite.on_finish()
            return
        if not self.options.verbose and text:
            click.echo(text)

    def check_summary(self):
        """A suite must end with a summary that agrees with the cases seen."""
        name = f"{self.test_suite.env_name}:{self.test_suite.test_name}"
        if self._summary is None:
            exc = UnitTestError(
                "The suite ended without its summary line: the program crashed, "
                "reset, hung or printed garbage."
            )
            click.secho(str(exc), fg="red", err=True)
            self.test_suite.add_case(TestCase(name=name, status=TestStatus.ERRORED, exception=exc))
            return
        seen = len(self.test_suite.cases)
        failed = self.test_suite.get_status_nums(TestStatus.FAILED)
        if seen != self._summary["tests"] or failed != self._summary["failures"]:
            exc = UnitTestError(
                f"The summary says {self._summary['tests']} tests and "
                f"{self._summary['failures']} failures, but {seen} tests and {failed} "
                "failures were reported (lost or garbled output)."
            )
            click.secho(str(exc), fg="red", err=True)
            self.test_suite.add_case(TestCase(name=name, status=TestStatus.ERRORED, exception=exc))
