"""Measure an integer model on the simulated AVR: cycles per inference, sizes, bit-exactness.

Compiles bench/firmware/cycles_main.c with the model and golden headers using
the firmware's avr-gcc flags, runs it on avr-vboard, and parses its output.
Used to calibrate tinybeat.targets.cost and by the bench/ suite.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinybeat.codegen import c_header
from tinybeat.core import families
from tinybeat.device.vboard import vboard_path

CFLAGS = ["-Os", "-Wall", "-Wextra", "-std=gnu11", "-ffunction-sections", "-fdata-sections"]
LDFLAGS = ["-Wl,--gc-sections", "-Wl,--relax"]


@dataclass
class AvrMeasurement:
    cycles: np.ndarray      # int64 (n_inputs_measured,)
    scores: np.ndarray      # int64, device scores
    stack_bytes: int        # stack high-water mark of the bench program
    text_bytes: int         # avr-size .text of the bench program
    data_bytes: int
    bss_bytes: int


def avr_size(elf: Path) -> dict[str, int]:
    out = subprocess.run(["avr-size", "-A", "-d", str(elf)], check=True, capture_output=True, text=True).stdout
    sizes = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return sizes


def measure(project: Path, model: families.IntModel, X_u8: np.ndarray, mcu: str = "atmega2560",
            f_cpu: int = 16_000_000, timeout_s: float = 120) -> AvrMeasurement:
    """Cycles and scores of `model` on the rows of X_u8 (n, n_inputs), on the simulated MCU."""
    project = Path(project)
    n_inputs = X_u8.shape[1]
    scores = families.predict_scores(model, X_u8)
    with tempfile.TemporaryDirectory(prefix="tinybeat-avrbench-") as tmp:
        inc = Path(tmp)
        (inc / "tinybeat_model.h").write_text(c_header.model_header(
            model, n_inputs=n_inputs, decision_threshold=0, fingerprint="0" * 64,
            cycle_estimate=0, cycle_budget=0))
        (inc / "tinybeat_golden.h").write_text(c_header.golden_header(
            X_u8, scores, (scores > 0).astype(np.uint8), "0" * 64))
        sources = [project / "bench/firmware/cycles_main.c", *sorted((project / "lib/tinybeat").glob("*.c")),
                   project / "lib/tbavr/tbavr.c", project / "lib/microtest/microtest.c",
                   project / "lib/microtest/microtest_port.c"]
        elf = inc / "bench.elf"
        cmd = ["avr-gcc", f"-mmcu={mcu}", f"-DF_CPU={f_cpu}L", *CFLAGS, "-I", str(inc),
               "-I", str(project / "lib/tinybeat"), "-I", str(project / "lib/tbavr"),
               "-I", str(project / "lib/microtest"), *map(str, sources), *LDFLAGS, "-o", str(elf)]
        subprocess.run(cmd, check=True)
        run = subprocess.run([str(vboard_path(project)), "--mcu", mcu, "--freq", str(f_cpu),
                              "--timeout", str(timeout_s), str(elf)],
                             capture_output=True, text=True, errors="replace", stdin=subprocess.DEVNULL)
        if run.returncode != 0:
            raise RuntimeError(f"bench firmware failed ({run.returncode}): {run.stderr.strip()}")
        refused = re.search(r"tb_model_score status.*?was (\d+)", run.stdout)
        if refused:
            raise RuntimeError(f"the engine refused the model: tb_status_t {refused.group(1)} (e.g. 5, TB_ERR_FLASH: "
                               "data past the 64 KB its kernel reads)")
        rows = re.findall(r"cycles (\d+) score (-?\d+)", run.stdout)
        stack = re.search(r"stack (\d+)", run.stdout)
        sizes = avr_size(elf)
    if len(rows) != len(X_u8) or stack is None:
        raise RuntimeError(f"bench firmware printed {len(rows)} of {len(X_u8)} results")
    device_scores = np.array([int(s) for _, s in rows], dtype=np.int64)
    if not np.array_equal(device_scores, scores):
        raise RuntimeError(f"device scores differ from the reference on {int(np.sum(device_scores != scores))} inputs")
    return AvrMeasurement(np.array([int(c) for c, _ in rows], dtype=np.int64), device_scores,
                          int(stack.group(1)), sizes.get(".text", 0), sizes.get(".data", 0), sizes.get(".bss", 0))
