"""Measure early-exit tree models (tinybeat.core.families.early_exit) on the simulated AVR.

Builds bench/firmware/etree_cycles_main.c with a model, runs it on avr-vboard and reads back
cycles and scores of the kernel and its reference; `near_flash_error` checks where a linked
firmware's near-flash data ended up. ``python -m tinybeat.device.etree_measure .`` measures the
identical random forest of the bench (RF depth 7 x 32 trees) in every layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinybeat.core.families.early_exit import LAYOUTS, CHUNK_LIMIT, EarlyExitTrees, c_source, estimate_cycles, flash_bytes, from_random_forest, predict_scores


CFLAGS = ["-Os", "-Wall", "-Wextra", "-std=gnu11", "-ffunction-sections", "-fdata-sections"]
LDFLAGS = ["-Wl,--gc-sections", "-Wl,--relax"]


@dataclass
class AvrRun:
    cycles: np.ndarray      # int64 (n,): tb_etree_score, per input
    scores: np.ndarray      # int64 (n,): device scores of tb_etree_score
    ref_scores: np.ndarray  # int64 (n,): device scores of tb_etree_score_ref
    ref_cycles: np.ndarray  # int64 (n,)
    check: int              # tb_etree_check status on the device
    symbols: dict           # name -> (flash address, size) of the model arrays
    text_bytes: int


def golden_header(X_u8: np.ndarray) -> str:
    """etree_golden.h for bench/firmware/etree_cycles_main.c: inputs in flash (24-bit addressed), in arrays of
    at most 32767 B (TB_EG_ROWS_PER_CHUNK rows each) listed in tb_eg_chunks."""
    X = np.asarray(X_u8, dtype=np.uint8)
    per = max(1, CHUNK_LIMIT // X.shape[1])
    lines = [f"#define TB_EG_COUNT {X.shape[0]}u", f"#define TB_EG_N_INPUTS {X.shape[1]}u",
             f"#define TB_EG_ROWS_PER_CHUNK {per}u"]
    names = []
    for k in range(0, X.shape[0], per):
        name = f"tb_eg_inputs{k // per}"
        names.append(name)
        body = ",".join(str(int(v)) for v in X[k:k + per].ravel())
        lines.append(f"static const tb_etree_byte_t {name}[] TB_ETREE_DATA = {{{body}}};")
    lines.append(f"static const tb_etree_byte_t *const tb_eg_chunks[] = {{{', '.join(names)}}};")
    return "\n".join(lines) + "\n"


def measure_avr(project, model: EarlyExitTrees, X_u8: np.ndarray, offset: int = 0, mcu: str = "atmega2560",
                f_cpu: int = 16_000_000, timeout_s: float = 300, extra_c: str = "") -> AvrRun:
    """Build bench/firmware/etree_cycles_main.c with `model` and run it on avr-vboard.

    offset: the input sits this many bytes after a 256-byte boundary (0 = the complete layout's fast path).
    extra_c: a C translation unit linked first, its symbol `tb_etree_bench_keep` kept by the linker
    (e.g. flash filler arrays that push the model above 64 KB).
    Raises RuntimeError when the firmware fails or prints fewer results than inputs.
    """
    import re
    import subprocess
    import tempfile
    from pathlib import Path

    project = Path(project)
    rel = Path(".platformio") / "packages" / "tool-simavr" / "bin" / "avr-vboard"
    vboard = project / rel
    X = np.asarray(X_u8, dtype=np.uint8)
    with tempfile.TemporaryDirectory(prefix="tinybeat-etree-") as tmp:
        inc = Path(tmp)
        (inc / "etree_model.c").write_text(c_source(model))
        (inc / "extra.c").write_text(extra_c or "typedef int tb_etree_bench_empty;\n")
        (inc / "etree_golden.h").write_text(golden_header(X))
        lib = project / "lib"
        sources = [inc / "extra.c", project / "bench/firmware/etree_cycles_main.c", lib / "tinybeat/tb_etree.c",
                   lib / "tbavr/tbavr.c", lib / "microtest/microtest.c", lib / "microtest/microtest_port.c"]
        elf = inc / "bench.elf"
        cmd = ["avr-gcc", f"-mmcu={mcu}", f"-DF_CPU={f_cpu}L", f"-DTB_EG_OFFSET={offset}", *CFLAGS,
               "-I", str(inc), "-I", str(lib / "tinybeat"), "-I", str(lib / "tbavr"), "-I", str(lib / "microtest"),
               *map(str, sources), *LDFLAGS, *(["-Wl,--undefined=tb_etree_bench_keep"] if extra_c else []),
               "-o", str(elf)]
        build = subprocess.run(cmd, capture_output=True, text=True)
        if build.returncode != 0:
            errors = [ln for ln in build.stderr.splitlines() if "error" in ln or "warning" in ln]
            raise RuntimeError("etree bench build failed: " + "; ".join(errors)[:2000])
        nm = subprocess.run(["avr-nm", "-S", str(elf)], check=True, capture_output=True, text=True).stdout
        symbols = {}
        for line in nm.splitlines():
            parts = line.split()
            if len(parts) == 4 and "tb_etree_model_data" in parts[3]:
                symbols[parts[3]] = (int(parts[0], 16), int(parts[1], 16))
        size = subprocess.run(["avr-size", "-A", "-d", str(elf)], check=True, capture_output=True, text=True).stdout
        text = int(re.search(r"^\.text\s+(\d+)", size, re.M).group(1))
        run = subprocess.run([str(vboard), "--mcu", mcu, "--freq", str(f_cpu), "--timeout", str(timeout_s), str(elf)],
                             capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if run.returncode != 0:
        raise RuntimeError(f"etree bench firmware failed ({run.returncode}): {run.stderr.strip()[-300:]}")
    rows = re.findall(r"cycles (\d+) score (-?\d+) ref (-?\d+) refcycles (\d+)", run.stdout)
    check = re.search(r"check (\d+)", run.stdout)
    if len(rows) != len(X) or check is None:
        raise RuntimeError(f"etree bench firmware printed {len(rows)} of {len(X)} results")
    a = np.array(rows, dtype=np.int64)
    return AvrRun(a[:, 0], a[:, 1], a[:, 2], a[:, 3], int(check.group(1)), symbols, text)


def near_flash_error(elf) -> str | None:
    """A clear error when a linked AVR firmware's TB_FLASH block (16-bit lpm data: tb_trees, tb_dense,
    goldens) does not end within the first 64 KB of flash, else None.

    TB_FLASH arrays sit in ".progmem.gcc_tb.*" sections, which the avr-libc linker script places first;
    the linker's __trampolines_start follows them. The kernels reading them return INT32_MIN at run time
    in that case; this lets a build refuse the firmware instead, naming the arrays past 64 KB.
    """
    import subprocess

    out = subprocess.run(["avr-objdump", "-t", str(elf)], check=True, capture_output=True, text=True).stdout
    symbols = []
    end = None
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[-1] == "__trampolines_start":
            end = int(parts[0], 16)
        elif len(parts) >= 6 and parts[-3] == ".text" and parts[-4] == "O":
            symbols.append((int(parts[0], 16), int(parts[-2], 16), parts[-1]))
    if end is None:
        return f"{elf}: no __trampolines_start symbol: not an avr-libc link, cannot check the 64 KB limit"
    if end <= 0x10000:
        return None
    late = [f"{name} ({addr:#x}..{addr + size - 1:#x})" for addr, size, name in sorted(symbols)
            if addr + size > 0x10000 and addr < end]
    return (f"{elf}: model data read through 16-bit flash pointers ends at {end - 1:#x}, beyond the first 64 KB "
            f"of flash ({', '.join(late[:5]) or 'arrays not named'}): the engine would refuse to score "
            f"(INT32_MIN). Use a smaller model or the early-exit tree family (24-bit far pointers).")


# --------------------------------------------------------------------------- the RF d7 x 32 benchmark


def _load_bytes_csv(path) -> tuple[np.ndarray, np.ndarray]:
    """(X uint8 (n, 193), y (n,)) from a data/ CSV (header; bytes s0..amp_ratio, target, record)."""
    import csv
    import gzip

    with gzip.open(path, "rt") as f:
        rows = list(csv.reader(f))
    head, body = rows[0], rows[1:]
    t = head.index("target")
    feats = [i for i, name in enumerate(head) if name not in ("target", "record")]
    X = np.array([[int(r[i]) for i in feats] for r in body], dtype=np.int64)
    if X.min() < 0 or X.max() > 255:
        raise ValueError(f"{path}: values outside 0..255")
    return X.astype(np.uint8), np.array([int(r[t]) for r in body])


def bench_rf(project, n_beats: int = 200) -> list[dict]:
    """RF depth 7 x 32 trees (max_features=sqrt, min_samples_leaf=5, seed 0, fitted on the training bytes,
    as bench/run_bench.py fits emlearn's peer) on the simulated ATmega2560: one row per encoding and input
    alignment, with median cycles over n_beats evenly spaced test beats, model bytes, test AUC and the cost
    model's estimate. Raises if the device differs from the reference on any beat."""
    from pathlib import Path

    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import roc_auc_score

    project = Path(project)
    Xtr, ytr = _load_bytes_csv(project / "data/mitbih_train.csv.gz")
    Xte, yte = _load_bytes_csv(project / "data/mitbih_test.csv.gz")
    clf = RandomForestClassifier(n_estimators=32, max_depth=7, max_features="sqrt", min_samples_leaf=5, n_jobs=1,
                                 random_state=0).fit(Xtr.astype(np.float64), ytr)
    sub = Xte[np.unique(np.linspace(0, len(Xte) - 1, min(n_beats, len(Xte))).astype(int))]
    out = []
    for leaf_bits in (8, 16):
        for layout in LAYOUTS:
            model = from_random_forest(clf, leaf_bits=leaf_bits, layout=layout)
            for offset in (0, 1):
                run = measure_avr(project, model, sub, offset=offset)
                want = predict_scores(model, sub)
                if not (np.array_equal(run.scores, want) and np.array_equal(run.ref_scores, want)):
                    raise RuntimeError(f"device differs from the reference ({layout}, {leaf_bits}-bit leaves)")
                med = float(np.median(run.cycles))
                est = estimate_cycles(model, sub, aligned=offset == 0)
                out.append({"layout": layout, "leaf_bits": leaf_bits, "input": "aligned" if offset == 0 else "+1 B",
                            "median_cycles": med, "min": int(run.cycles.min()), "max": int(run.cycles.max()),
                            "bytes": flash_bytes(model), "auc": float(roc_auc_score(yte, predict_scores(model, Xte))),
                            "estimate": est, "estimate_error": (est - med) / med, "beats": len(sub),
                            "device_equals_reference": True})
    return out


if __name__ == "__main__":
    import sys
    from pathlib import Path

    rows = bench_rf(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
    print("| layout | leaf bits | input | median cycles (min..max) | bytes | test AUC | estimate (error) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['layout']} | {r['leaf_bits']} | {r['input']} | {r['median_cycles']:.0f} ({r['min']}..{r['max']}) "
              f"| {r['bytes']} | {r['auc']:.4f} | {r['estimate']} ({100 * r['estimate_error']:+.1f} %) |")
    print(f"device == reference on all {rows[0]['beats']} beats of every row")
