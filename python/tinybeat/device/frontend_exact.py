"""Bit-exactness of lib/tbfront (C) and this reference: build the host driver, run both, compare.

``python -m tinybeat.device.frontend_exact ../shared/data/mitdb`` compares every
record of a WFDB directory (or the records given with --records) and prints
the number of records, beats and mismatches. Tests use the same functions.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinybeat.frontend import FrontendResult
from tinybeat.frontend import params
from tinybeat.frontend import run

ROOT = Path(__file__).resolve().parents[3]
LIB = ROOT / "lib" / "tbfront"
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror"]
SANITIZE = ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]


def build_driver(out_dir: Path, sanitize: bool = True) -> Path:
    """Compile lib/tbfront with examples/tbf_driver.c by the host gcc; return the executable."""
    gcc = shutil.which("gcc")
    if gcc is None:
        raise RuntimeError("gcc not found on PATH")
    exe = Path(out_dir) / ("tbf_driver_asan" if sanitize else "tbf_driver")
    flags = CFLAGS + (SANITIZE if sanitize else ["-O2"])
    cmd = [gcc, *flags, "-I", str(LIB), str(LIB / "examples" / "tbf_driver.c"), str(LIB / "tbfront.c"), "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"gcc failed: {proc.stderr.strip()}")
    return exe


@dataclass(frozen=True)
class CRun:
    """What the C driver printed: beats int64 (n, 7) [emitted_at, r_sample, rr_pre, rr_post,
    rr_avg, hr_x10, flags], x uint8 (n, 193), signal events [(index, state)], dropped."""

    beats: np.ndarray
    x: np.ndarray
    signal_events: list[tuple[int, int]]
    dropped: int
    n_samples: int


def run_driver(exe: Path, adc: np.ndarray, fs: int, lead_off: np.ndarray | None = None) -> CRun:
    """Push ``adc`` (n,) (any non-negative ints < 65536) through the C front end."""
    with tempfile.TemporaryDirectory(prefix="tbf_") as tmp:
        a = Path(tmp) / "adc.bin"
        np.asarray(adc, dtype="<u2").tofile(a)
        args = [str(exe), str(fs), str(a)]
        if lead_off is not None:
            lo = Path(tmp) / "lo.bin"
            np.asarray(lead_off, dtype=np.uint8).tofile(lo)
            args.append(str(lo))
        proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"tbf_driver failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    beats, xs, events = [], [], []
    dropped = n = -1
    for line in proc.stdout.splitlines():
        tag, *vals = line.split()
        if tag == "B":
            v = [int(t) for t in vals]
            beats.append(v[:7])
            xs.append(v[7:])
        elif tag == "S":
            events.append((int(vals[0]), int(vals[1])))
        elif tag == "D":
            dropped = int(vals[0])
        elif tag == "N":
            n = int(vals[0])
    return CRun(np.asarray(beats, dtype=np.int64).reshape(-1, 7),
                np.asarray(xs, dtype=np.uint8).reshape(-1, params.N_INPUTS), events, dropped, n)


def compare(py: FrontendResult, c: CRun) -> list[str]:
    """Differences between the reference and the C run (empty when bit-exact)."""
    out: list[str] = []
    if py.signal_events != c.signal_events:
        out.append(f"signal events differ: python {py.signal_events[:5]} c {c.signal_events[:5]}")
    pb = np.stack([py.emitted_at, py.r_sample, py.rr_pre, py.rr_post, py.rr_avg, py.hr_x10, py.flags], axis=1)
    if len(pb) != len(c.beats):
        out.append(f"beat count: python {len(pb)} c {len(c.beats)}")
    n = min(len(pb), len(c.beats))
    names = ["emitted_at", "r_sample", "rr_pre", "rr_post", "rr_avg", "hr_x10", "flags"]
    for i in range(n):
        if not np.array_equal(pb[i], c.beats[i]):
            bad = [f"{names[j]} {pb[i, j]}!={c.beats[i, j]}" for j in range(7) if pb[i, j] != c.beats[i, j]]
            out.append(f"beat {i}: " + ", ".join(bad))
        elif not np.array_equal(py.x[i], c.x[i]):
            j = int(np.flatnonzero(py.x[i] != c.x[i])[0])
            out.append(f"beat {i}: x[{j}] {py.x[i, j]}!={c.x[i, j]}")
        if len(out) > 20:
            break
    if py.dropped != c.dropped:
        out.append(f"dropped: python {py.dropped} c {c.dropped}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("wfdb_dir", type=Path)
    ap.add_argument("--records", nargs="*", help="record names (default: RECORDS or every .hea)")
    ap.add_argument("--no-sanitize", action="store_true", help="build -O2 without ASan/UBSan (faster)")
    args = ap.parse_args(argv)
    from tqdm import tqdm

    from tinybeat.recordings.records import list_records, load_record

    names = args.records or list_records(args.wfdb_dir, annotations=False)
    total_beats = bad_records = 0
    with tempfile.TemporaryDirectory(prefix="tbf_build_") as tmp:
        exe = build_driver(Path(tmp), sanitize=not args.no_sanitize)
        for name in tqdm(names, disable=not sys.stderr.isatty()):
            rec = load_record(args.wfdb_dir / name)
            py = run(rec.adc, rec.fs)
            diffs = compare(py, run_driver(exe, rec.adc, rec.fs))
            total_beats += py.n_beats
            if diffs:
                bad_records += 1
                print(f"{name}: {len(diffs)} mismatches, first: {diffs[0]}")
    print(f"records {len(names)}, beats compared {total_beats}, records with mismatches {bad_records}")
    return 1 if bad_records else 0


if __name__ == "__main__":
    raise SystemExit(main())
