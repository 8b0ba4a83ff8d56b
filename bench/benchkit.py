"""Building, running and sizing models on the simulated ATmega2560 for bench/run_bench.py.

Two engines are measured the same way:

* tinybeat (ours): `tinybeat.device.measure.measure` (bench/firmware/cycles_main.c) for
  cycles, stack and bit-exactness against the Python reference;
* emlearn: bench/firmware/emlearn_main.c with the emlearn-generated C code, the
  same inputs, the same Timer1 timing and the same avr-gcc flags
  (tinybeat.device.measure.CFLAGS / LDFLAGS).

Flash and static RAM of every model come from one size probe
(bench/firmware/size_main.c: UART in, model, UART out), linked once per model
and once with no model at all, so that every engine is sized with the same harness.

emlearn's own C code decides what a prediction is; `emulate_*` below reproduce
it exactly in numpy (float32 arithmetic, the thresholds as printed into the C
source) so AUC and accuracy can be computed on the full test split, and the
device's answers on the measured beats are checked against them.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
FIRMWARE_DIR = BENCH_DIR / "firmware"
MCU = "atmega2560"
F_CPU = 16_000_000
N_CLASSES = 2


# --------------------------------------------------------------------------- toolchain


@dataclass
class Build:
    ok: bool
    elf: Path | None
    log: str                 # compiler/linker errors (warnings dropped) when not ok
    sizes: dict = field(default_factory=dict)  # avr-size sections
    symbols: list = field(default_factory=list)  # (name, size, type) from avr-nm

    @property
    def flash(self) -> int:
        return self.sizes.get(".text", 0) + self.sizes.get(".data", 0)

    @property
    def static_ram(self) -> int:
        return self.sizes.get(".data", 0) + self.sizes.get(".bss", 0)

    def symbol_bytes(self, match) -> dict:
        """Bytes of the symbols whose name satisfies `match`, by kind (code / data / bss)."""
        out = {"code": 0, "flash_data": 0, "ram_data": 0, "bss": 0}
        for name, size, kind in self.symbols:
            if not match(name):
                continue
            k = kind.lower()
            if k == "t":
                out["code"] += size
            elif k == "d":
                out["ram_data"] += size
            elif k == "b":
                out["bss"] += size
            else:
                out["flash_data"] += size
        return out


def avr_compile(project: Path, sources: list[Path], include_dirs: list[Path], elf: Path,
                defines: tuple[str, ...] = ()) -> Build:
    """avr-gcc with exactly the firmware's flags (tinybeat.device.measure) plus include dirs and -D defines."""
    from tinybeat.device import measure

    cmd = ["avr-gcc", f"-mmcu={MCU}", f"-DF_CPU={F_CPU}L", *measure.CFLAGS,
           *[f"-D{d}" for d in defines], *[x for d in include_dirs for x in ("-I", str(d))],
           *map(str, sources), *measure.LDFLAGS, "-o", str(elf)]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        errors = [l for l in run.stderr.splitlines() if "error" in l.lower() or "overflow" in l.lower()
                  or "will not fit" in l.lower() or "not within region" in l]
        return Build(False, None, "\n".join(errors[:8]) or run.stderr[-2000:])
    return Build(True, elf, "", measure.avr_size(elf), nm_symbols(elf))


def nm_symbols(elf: Path) -> list[tuple[str, int, str]]:
    out = subprocess.run(["avr-nm", "-S", "-t", "d", str(elf)], check=True, capture_output=True,
                         text=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4:
            syms.append((parts[3], int(parts[1]), parts[2]))
    return syms


def run_vboard(project: Path, elf: Path, timeout_s: float = 120) -> str:
    from tinybeat.device.vboard import vboard_path

    run = subprocess.run([str(vboard_path(project)), "--mcu", MCU, "--freq", str(F_CPU),
                          "--timeout", str(timeout_s), str(elf)],
                         capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if run.returncode != 0:
        raise RuntimeError(f"simulated board failed ({run.returncode}): {run.stderr.strip()[-500:]}")
    return run.stdout


def is_flash_overflow(log: str) -> bool:
    return ("overflow" in log or "will not fit" in log or "region `text'" in log) and not is_ram_overflow(log)


def is_ram_overflow(log: str) -> bool:
    return "region `data'" in log


def ram_end_from_log(log: str) -> int | None:
    """Static RAM implied by ld's "address 0x80xxxx of ... section `.bss' is not within region `data'" (bytes)."""
    found = [int(a, 16) for a in re.findall(r"address 0x(80[0-9a-fA-F]{4})", log)]
    return max(found) - 0x800200 if found else None   # ATmega2560 SRAM starts at 0x200


# --------------------------------------------------------------------------- generated headers


def inputs_header(X_u8: np.ndarray) -> str:
    rows = [", ".join(str(int(v)) for v in row) for row in X_u8]
    body = ",\n\t".join(rows)
    return (f"/* GENERATED by bench/run_bench.py: {len(X_u8)} test beats as the device's input bytes. */\n"
            "#ifndef BENCH_INPUTS_H\n#define BENCH_INPUTS_H\n#include <avr/pgmspace.h>\n#include <stdint.h>\n"
            f"#define BENCH_COUNT {len(X_u8)}\n#define BENCH_N_INPUTS {X_u8.shape[1]}\n"
            f"static const uint8_t bench_inputs[{X_u8.size}] PROGMEM = {{\n\t{body}\n}};\n#endif\n")


APP_EMLEARN = """
#ifdef BENCH_SIZE_PROBE
static BENCH_FEATURE_T bench_x[BENCH_N_INPUTS];
static uint8_t bench_app_predict(const uint8_t *raw)
{
	BENCH_CONVERT(bench_x, raw, BENCH_N_INPUTS);
	return (uint8_t)BENCH_PREDICT(bench_x);
}
#endif
"""

CONVERT = {
    # x / 255 as a float: one multiply by the float constant 1/255 per input
    "float": "(d)[i_] = (float)(s)[i_] * (1.0f / 255.0f)",
    # the bytes as int16 features, unscaled
    "int16": "(d)[i_] = (int16_t)(s)[i_]",
}
CTYPE = {"float": "float", "int16": "int16_t"}


def emlearn_header(code: str, prefix: str, dtype: str, family: str, emlearn_version: str) -> str:
    if family == "mlp":
        predict = f"{prefix}_predict((x), BENCH_N_INPUTS)"
        proba = f"eml_net_predict_proba(&{prefix}, (x), BENCH_N_INPUTS, (out), 2)"
    else:
        predict = f"{prefix}_predict((x), BENCH_N_INPUTS)"
        proba = f"{prefix}_predict_proba((x), BENCH_N_INPUTS, (out), 2)"
    return f"""/* GENERATED by bench/run_bench.py: emlearn {emlearn_version} model `{prefix}` plus the bench macros. */
#ifndef BENCH_MODEL_H
#define BENCH_MODEL_H
#include <stdint.h>
{code}

#define BENCH_FEATURE_T {CTYPE[dtype]}
#define BENCH_CONVERT(d, s, n) do {{ for (uint16_t i_ = 0; i_ < (uint16_t)(n); i_++) {CONVERT[dtype]}; }} while (0)
#define BENCH_PREDICT(x) {predict}
#define BENCH_PROBA(x, out) {proba}
{APP_EMLEARN}
#endif
"""


def tinybeat_app_header() -> str:
    return """/* GENERATED by bench/run_bench.py: the tinybeat engine and model for the size probe. */
#ifndef BENCH_MODEL_H
#define BENCH_MODEL_H
#include "tinybeat.h"
#include "tinybeat_model.h"
static uint8_t bench_app_predict(const uint8_t *raw)
{
	uint8_t cls;
	(void)tb_model_predict(&tb_model, raw, TB_MODEL_N_INPUTS, 0, &cls); /* TB_CLASS_NONE on error */
	return cls;
}
#endif
"""


EMPTY_APP_HEADER = """/* GENERATED by bench/run_bench.py: no model (baseline of the size probe). */
#ifndef BENCH_MODEL_H
#define BENCH_MODEL_H
static uint8_t bench_app_predict(const uint8_t *raw) { return raw[0]; }
#endif
"""


# --------------------------------------------------------------------------- size probe


def size_probe(project: Path, header: str, extra_sources: list[Path] = (), extra_includes: list[Path] = (),
               extra_files: dict[str, str] | None = None, n_inputs: int = 187) -> Build:
    """Link bench/firmware/size_main.c around `header` (bench_model.h) and measure it."""
    with tempfile.TemporaryDirectory(prefix="tinybeat-bench-size-") as name:
        tmp = Path(name)
        (tmp / "bench_model.h").write_text(header)
        for fname, text in (extra_files or {}).items():
            (tmp / fname).write_text(text)
        build = avr_compile(project, [FIRMWARE_DIR / "size_main.c", *extra_sources],
                            [tmp, *extra_includes], tmp / "size.elf",
                            defines=("BENCH_SIZE_PROBE", f"BENCH_N_INPUTS={n_inputs}"))
        build.elf = None  # measured; the file goes with the directory
    return build


# --------------------------------------------------------------------------- emlearn on the device


@dataclass
class DeviceRun:
    conv: np.ndarray      # cycles of the uint8 -> feature conversion, per beat
    pred: np.ndarray      # cycles of <model>_predict
    proba: np.ndarray     # cycles of <model>_predict_proba
    classes: np.ndarray
    p1: np.ndarray        # float32 out[1] of predict_proba
    stack: int
    sizes: dict


LINE = re.compile(r"conv (\d+) pred (\d+) proba (\d+) class (-?\d+) p1 (\d+)")


def run_emlearn(project: Path, header: str, X_u8: np.ndarray, workdir: Path,
                emlearn_include: Path, timeout_s: float = 120) -> tuple[Build, DeviceRun | None]:
    """Build emlearn_main.c with `header` and the inputs, run it on the simulated MCU."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "bench_model.h").write_text(header)
    (workdir / "bench_inputs.h").write_text(inputs_header(X_u8))
    sources = [FIRMWARE_DIR / "emlearn_main.c", project / "lib/tbavr/tbavr.c",
               project / "lib/microtest/microtest.c", project / "lib/microtest/microtest_port.c"]
    build = avr_compile(project, sources, [workdir, emlearn_include, project / "lib/tbavr",
                                           project / "lib/microtest"], workdir / "emlearn_bench.elf")
    if not build.ok:
        return build, None
    out = run_vboard(project, build.elf, timeout_s)
    rows = LINE.findall(out)
    stack = re.search(r"stack (\d+)", out)
    if len(rows) != len(X_u8) or stack is None:
        raise RuntimeError(f"emlearn bench printed {len(rows)} of {len(X_u8)} results:\n{out[-800:]}")
    a = np.array([[int(v) for v in r] for r in rows], dtype=np.int64)
    p1 = a[:, 4].astype(np.uint32).view(np.float32)
    return build, DeviceRun(a[:, 0], a[:, 1], a[:, 2], a[:, 3], p1, int(stack.group(1)), build.sizes)


# --------------------------------------------------------------------------- emlearn semantics in numpy


def c_float(value: float) -> np.float32:
    """A float constant exactly as emlearn prints it into C ("%.6f" then 'f')."""
    from emlearn import cgen

    return np.float32(float(cgen.constant(float(value), dtype="float").rstrip("f")))


def c_int(value: float) -> int:
    from emlearn import cgen

    return int(cgen.constant(float(value), dtype="int16_t"))


def features(X_u8: np.ndarray, dtype: str) -> np.ndarray:
    """What BENCH_CONVERT computes on the device."""
    if dtype == "float":
        return X_u8.astype(np.float32) * (np.float32(1.0) / np.float32(255.0))
    return X_u8.astype(np.int64)


def emulate_trees(forest, dtype: str, leaf_bits: int, n_trees: int, X_u8: np.ndarray):
    """(classes from <model>_predict, float32 out[1] from <model>_predict_proba) of an inline emlearn forest."""
    nodes, roots, leaves = forest
    feat = np.array([int(n[0]) for n in nodes], dtype=np.int64)
    left = np.array([int(n[2]) for n in nodes], dtype=np.int64)
    right = np.array([int(n[3]) for n in nodes], dtype=np.int64)
    if dtype == "float":
        thr = np.array([c_float(n[1]) for n in nodes], dtype=np.float32)
    else:
        thr = np.array([c_int(n[1]) for n in nodes], dtype=np.int64)
    x = features(X_u8, dtype)
    rows = np.arange(len(X_u8))
    leaf_of_tree = []
    for root in roots:
        idx = np.full(len(X_u8), int(root), dtype=np.int64)
        active = idx >= 0
        while active.any():
            i = idx[active]
            go_left = x[rows[active], feat[i]] < thr[i]
            idx[active] = np.where(go_left, left[i], right[i])
            active = idx >= 0
        leaf_of_tree.append(-idx - 1)
    n = np.float32(n_trees)
    if leaf_bits == 0:
        cls_of_leaf = np.array([int(v) for v in leaves], dtype=np.int64)
        votes1 = sum((cls_of_leaf[l] == 1).astype(np.int64) for l in leaf_of_tree)
        votes0 = len(roots) - votes1
        # argmax over int votes starting at (class -1, 0 votes), strictly larger wins: ties -> class 0
        classes = np.where(votes1 > votes0, 1, 0)
        p1 = votes1.astype(np.float32) / n
        return classes.astype(np.int64), p1.astype(np.float32)
    table = np.array([np.asarray(v, dtype=np.uint8) for v in leaves])  # (n_unique, 2) bytes
    out0 = np.zeros(len(X_u8), dtype=np.float32)
    out1 = np.zeros(len(X_u8), dtype=np.float32)
    c255 = np.float32(255.0)
    for l in leaf_of_tree:
        out0 = (out0 + table[l, 0].astype(np.float32) / c255).astype(np.float32)
        out1 = (out1 + table[l, 1].astype(np.float32) / c255).astype(np.float32)
    # argmax as emlearn writes it: start at class -1 with 0.0, take strictly larger
    classes = np.where(out0 > 0, 0, -1)
    best = np.maximum(out0, np.float32(0))
    classes = np.where(out1 > best, 1, classes)
    return classes.astype(np.int64), (out1 / n).astype(np.float32)


@dataclass
class MlpParams:
    w1: np.ndarray   # float32 (n_inputs, n_hidden), as printed into C
    b1: np.ndarray
    w2: np.ndarray   # float32 (n_hidden, 1)
    b2: np.ndarray


def mlp_params(coefs, intercepts) -> MlpParams:
    f = np.vectorize(lambda v: c_float(v), otypes=[np.float32])
    return MlpParams(f(coefs[0]), f(intercepts[0]), f(coefs[1]), f(intercepts[1]))


def emulate_mlp(p: MlpParams, X_u8: np.ndarray):
    """eml_net (loadable, float): one ReLU hidden layer, one logistic output; float32 step by step."""
    x = features(X_u8, "float")
    n_in, n_hidden = p.w1.shape
    hidden = np.zeros((len(X_u8), n_hidden), dtype=np.float32)
    for o in range(n_hidden):
        s = np.zeros(len(X_u8), dtype=np.float32)
        for i in range(n_in):
            s = (s + (p.w1[i, o] * x[:, i]).astype(np.float32)).astype(np.float32)
        s = (s + p.b1[o]).astype(np.float32)
        hidden[:, o] = np.where(s <= 0, np.float32(0), s)
    s = np.zeros(len(X_u8), dtype=np.float32)
    for i in range(n_hidden):
        s = (s + (p.w2[i, 0] * hidden[:, i]).astype(np.float32)).astype(np.float32)
    s = (s + p.b2[0]).astype(np.float32)
    one = np.float32(1.0)
    p1 = (one / (one + np.exp(-s).astype(np.float32))).astype(np.float32)  # expf: may differ by an ulp
    classes = (p1 > np.float32(0.5)).astype(np.int64)
    return classes, p1
