#!/usr/bin/env python3
"""tinybeat against emlearn on the same data and the same simulated ATmega2560.

    .venv/bin/python bench/run_bench.py            # writes bench/results.md, results.json, scaling.png

See bench/README.md. Not part of the default test run (it builds and simulates
about 100 firmwares: about 2 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(PROJECT / "python"))
sys.path.insert(0, str(HERE))

import benchkit  # noqa: E402
from tinybeat.codegen import c_header as codegen  # noqa: E402
from tinybeat.core import families as models, metrics  # noqa: E402
from tinybeat.device import measure as avrbench  # noqa: E402
from tinybeat.pipeline import config, selection as pipeline  # noqa: E402
from tinybeat.targets import boards, cost  # noqa: E402
from tinybeat.datasets.table import load_files  # noqa: E402
from tinybeat.core.quantize import quantize_inputs  # noqa: E402

# Energy: ATmega640/1280/1281/2560/2561 datasheet (Atmel doc 2549), "Electrical Characteristics ->
# DC Characteristics", Power Supply Current I_CC, "Active 8 MHz, VCC = 5V": 10 mA typical (14 mA max).
# The table has no 16 MHz row; active current grows linearly with the clock (datasheet "Typical
# Characteristics: Active Supply Current vs. Frequency"), so 16 MHz is taken as 2 x 10 mA = 20 mA.
SUPPLY_V = 5.0
ICC_TABLE_MA, ICC_TABLE_MHZ = 10.0, 8.0
ENERGY_SOURCE = ("ATmega640/1280/1281/2560/2561 datasheet (Atmel doc 2549), Electrical Characteristics, "
                 "DC Characteristics table, Power Supply Current I_CC 'Active 8 MHz, VCC = 5V' = 10 mA typical "
                 "(14 mA max); no 16 MHz row, so scaled linearly with the clock to 16 MHz: 20 mA")

T0 = time.monotonic()
_print_lock = threading.Lock()


def log(msg: str) -> None:
    with _print_lock:
        print(f"[{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


# --------------------------------------------------------------------------- data and models


def load_data(args):
    """Train and test beats as the board's bytes, with the project config's input range."""
    from tinybeat.pipeline.config import load_config

    rng = load_config(PROJECT / "model" / "config.yaml").data.input_range
    kw = dict(target=args.target, group=args.group, input_range=rng)
    train = load_files([PROJECT / args.train], **kw)
    test = load_files([PROJECT / args.test], **kw)
    return quantize_inputs(train.X, rng), train.y, quantize_inputs(test.X, rng), test.y


def pick_front_points(front: list[dict], chosen: str, k: int) -> list[dict]:
    """k other Pareto-front points spread over flash size; an MLP among them if the front has one."""
    rest = sorted((e for e in front if e["name"] != chosen), key=lambda e: (e["flash_bytes"], e["cycles"]))
    if not rest:
        return []
    idx = sorted({round(q * (len(rest) - 1)) for q in np.linspace(0.1, 1.0, k)})
    picks = [rest[i] for i in idx]
    mlps = [e for e in rest if e["family"] == "mlp"]
    if mlps and not any(e["family"] == "mlp" for e in picks):
        mlp = max(mlps, key=lambda e: e["cv_metric"])
        nearest = min(range(len(picks)), key=lambda i: abs(picks[i]["flash_bytes"] - mlp["flash_bytes"]))
        picks[nearest] = mlp
    return sorted(picks, key=lambda e: e["flash_bytes"])


def rf(depth: int, n: int, seed: int, X, y):
    from sklearn.ensemble import RandomForestClassifier

    # the same forest tinybeat's search fits (tinybeat.core.search, family "rf")
    return RandomForestClassifier(n_estimators=n, max_depth=depth, max_features="sqrt", min_samples_leaf=5,
                                  n_jobs=2, random_state=seed).fit(X, y)


def extra_trees(depth: int, n: int, seed: int, X, y):
    from sklearn.ensemble import ExtraTreesClassifier

    return ExtraTreesClassifier(n_estimators=n, max_depth=depth, max_features="sqrt", min_samples_leaf=5,
                                n_jobs=2, random_state=seed).fit(X, y)


def mlp(hidden: int, seed: int, X01, y):
    from sklearn.neural_network import MLPClassifier

    # the same float network tinybeat's search fits before int8 quantisation (family "mlp")
    return MLPClassifier(hidden_layer_sizes=(hidden,), activation="relu", alpha=1e-3, max_iter=200,
                         early_stopping=True, random_state=seed).fit(X01, y)


def chunks(idx: np.ndarray, size: int) -> list[np.ndarray]:
    return [idx[i:i + size] for i in range(0, len(idx), size)]


def first_trees(clf, n: int):
    sub = copy.copy(clf)
    sub.estimators_ = clf.estimators_[:n]
    sub.n_estimators = n
    return sub


def same_structure(a, b) -> bool:
    return all(np.array_equal(x.tree_.feature, z.tree_.feature)
               and np.array_equal(x.tree_.children_left, z.tree_.children_left)
               and np.array_equal(x.tree_.children_right, z.tree_.children_right)
               for x, z in zip(a.estimators_, b.estimators_))


# --------------------------------------------------------------------------- measurement jobs

EM_PREFIX = "emm"
CHUNK_BEATS = 100  # beats per firmware: ~190-byte beats, and avr-gcc takes no array over 32767 B
MLP_STACK_ASSUMED = 192  # bytes; measured: ~170 B for eml_net plus the cycle harness


def em_symbol(name: str) -> bool:
    return name == EM_PREFIX or name.startswith(EM_PREFIX + "_")


def tb_symbol(name: str) -> bool:
    return name == "tb_model" or (name.startswith("tb_model_") and name not in ("tb_model_score", "tb_model_predict"))


class Bench:
    def __init__(self, args, board, Xte, yte, sub_idx, scaling_idx):
        import emlearn

        self.args = args
        self.board = board
        self.Xte, self.yte = Xte, yte
        self.sub_idx, self.scaling_idx = sub_idx, scaling_idx
        self.emlearn = emlearn
        self.em_version = emlearn.__version__
        self.em_include = Path(emlearn.includedir)
        self.tmp = Path(tempfile.mkdtemp(prefix="tinybeat-bench-"))
        self.empty = benchkit.size_probe(PROJECT, benchkit.EMPTY_APP_HEADER)
        if not self.empty.ok:
            raise RuntimeError(f"size probe does not build: {self.empty.log}")
        self._n = 0
        self._lock = threading.Lock()

    def workdir(self, key: str) -> Path:
        with self._lock:
            self._n += 1
            return self.tmp / f"{self._n:03d}-{key}"

    def energy_uj(self, cycles: float) -> float:
        icc_a = ICC_TABLE_MA / 1000.0 * (benchkit.F_CPU / 1e6) / ICC_TABLE_MHZ
        return SUPPLY_V * icc_a * cycles / benchkit.F_CPU * 1e6

    def sizes(self, build: benchkit.Build, match) -> dict:
        sym = build.symbol_bytes(match)
        return {
            "flash_total": build.flash,
            "flash_over_empty": build.flash - self.empty.flash,
            "model_bytes": sym["code"] + sym["flash_data"] + sym["ram_data"],
            "model_code_bytes": sym["code"],
            "model_data_bytes": sym["flash_data"] + sym["ram_data"],
            "static_ram": build.static_ram,
            "static_ram_over_empty": build.static_ram - self.empty.static_ram,
            "model_ram_bytes": sym["ram_data"] + sym["bss"],
            "text": build.sizes.get(".text", 0), "data": build.sizes.get(".data", 0),
            "bss": build.sizes.get(".bss", 0),
        }

    def fits(self, r: dict) -> None:
        """Board fit: program flash within upload.maximum_size, static RAM + stack within the SRAM."""
        if r.get("flash_total") is None:
            r["fits_board"] = False
            return
        ram = r["static_ram"] + (r.get("stack") or r.get("stack_assumed") or 0)
        r["ram_total"] = ram
        r["fits_flash"] = r["flash_total"] <= self.board.flash_bytes
        r["fits_ram"] = ram <= self.board.ram_bytes
        r["fits_board"] = r["fits_flash"] and r["fits_ram"]
        # the project's own budget (model/config.yaml): the board less the firmware's flash and RAM reserves
        r["fits_project_budget"] = (r["fits_board"] and r["flash_total"] <= self.board.flash_bytes - self.args.flash_reserve
                                    and ram <= self.board.ram_bytes - self.args.ram_reserve)

    # ---- ours

    def ours(self, name: str, model, role: str, idx: np.ndarray, extra: dict | None = None,
             threshold: int = 0) -> dict:
        """One tinybeat integer model; class 1 when its score is above `threshold` (the entry's decision threshold)."""
        t = time.monotonic()
        X = self.Xte
        scores = models.predict_scores(model, X)
        s = metrics.summary(self.yte, scores, threshold)
        too_big = largest_array(model) > AVR_MAX_OBJECT
        if too_big:
            # avr-gcc refuses such an array (size_t is 16 bits); nothing to build or run
            r = {"name": name, "engine": "tinybeat", "role": role, "kind": describe_int(model), "features": "uint8",
                 "auc": s["auc"], "accuracy": s["accuracy"], "flash_total": None, "fits_board": False,
                 "model_array_bytes": int(models.model_flash_bytes(model)),
                 "not_fitting": f"build: a model array of {largest_array(model)} B exceeds avr-gcc's "
                                f"{AVR_MAX_OBJECT} B object limit"}
            if isinstance(model, models.TreeEnsemble):
                r.update(n_trees=model.n_trees, depth=model.depth)
            log(f"  ours {name}: does not build ({r['not_fitting']})")
            return r
        # asserts device == Python reference, bit for bit; in chunks: avr-gcc takes no array over 32 KB
        parts = [avrbench.measure(PROJECT, model, X[c]) for c in chunks(idx, CHUNK_BEATS)]
        m = avrbench.AvrMeasurement(np.concatenate([p.cycles for p in parts]),
                                    np.concatenate([p.scores for p in parts]), max(p.stack_bytes for p in parts),
                                    parts[0].text_bytes, parts[0].data_bytes, parts[0].bss_bytes)
        header = codegen.model_header(model, n_inputs=X.shape[1], decision_threshold=int(threshold),
                                      fingerprint="0" * 64, cycle_estimate=0, cycle_budget=0)
        build = benchkit.size_probe(PROJECT, benchkit.tinybeat_app_header(),
                                    extra_sources=sorted((PROJECT / "lib/tinybeat").glob("*.c")),
                                    extra_includes=[PROJECT / "lib/tinybeat"],
                                    extra_files={"tinybeat_model.h": header}, n_inputs=X.shape[1])
        if not build.ok:
            raise RuntimeError(f"{name}: size probe failed: {build.log}")
        r = {
            "name": name, "engine": "tinybeat", "role": role, "kind": describe_int(model),
            "features": "uint8", "auc": s["auc"], "accuracy": s["accuracy"],
            "sensitivity": s["sensitivity"], "specificity": s["specificity"],
            "balanced_accuracy": s["balanced_accuracy"], "decision_threshold": int(threshold),
            "beats_measured": len(idx), "device_agrees": True, "device_check": "bit-exact scores (avrbench)",
            "cycles_median": float(np.median(m.cycles)), "cycles_max": int(m.cycles.max()),
            "cycles_min": int(m.cycles.min()),
            "cycles_estimate": int(cost.estimate_cycles(model, X.shape[1])),
            "stack": m.stack_bytes, **self.sizes(build, tb_symbol),
            "model_array_bytes": int(models.model_flash_bytes(model)),
        }
        if isinstance(model, models.TreeEnsemble):
            r.update(n_trees=model.n_trees, depth=model.depth)
        r.update(extra or {})
        r["energy_uj"] = self.energy_uj(r["cycles_median"])
        self.fits(r)
        log(f"  ours {name}: AUC {r['auc']:.4f} acc {r['accuracy']:.4f} cycles {r['cycles_median']:.0f} "
            f"flash {r['flash_total']} B ({time.monotonic() - t:.1f}s)")
        return r

    # ---- emlearn

    def emlearn_trees(self, name: str, clf, dtype: str, leaf_bits: int, role: str, idx: np.ndarray,
                      sk_X, extra: dict | None = None) -> dict:
        t = time.monotonic()
        cm = self.emlearn.convert(clf, method="inline", dtype=benchkit.CTYPE[dtype], leaf_bits=leaf_bits)
        code = cm.save(name=EM_PREFIX, include_proba=True)
        n_trees = len(clf.estimators_)
        classes, p1 = benchkit.emulate_trees(cm.forest_, dtype, cm.leaf_bits, n_trees, self.Xte)
        sk_pred = clf.predict(sk_X)
        r = {
            "name": name, "engine": f"emlearn {self.em_version}", "role": role, "features": dtype,
            "kind": f"{type(clf).__name__} {n_trees}x{clf.max_depth} inline, "
                    + ("majority vote" if cm.leaf_bits == 0 else f"soft vote ({cm.leaf_bits}-bit leaves)"),
            "n_trees": n_trees, "depth": clf.max_depth, "leaf_bits": cm.leaf_bits,
            "n_nodes": len(cm.forest_[0]),
            "sklearn_agreement": float(np.mean(classes == sk_pred)),
        }
        r.update(self._metrics(classes, p1))
        header = benchkit.emlearn_header(code, EM_PREFIX, dtype, "trees", self.em_version)
        r.update(self._device(name, header, idx, classes, p1, exact=True))
        r.update(extra or {})
        log(f"  {name}: AUC {r['auc']:.4f} acc {r['accuracy']:.4f} "
            f"cycles {r.get('cycles_median', float('nan')):.0f} flash {r.get('flash_total')} B "
            f"{'' if r['fits_board'] else '(DOES NOT FIT) '}({time.monotonic() - t:.1f}s)")
        return r

    def emlearn_mlp(self, name: str, clf, role: str, idx: np.ndarray) -> dict:
        t = time.monotonic()
        from emlearn import net

        acts = [clf.activation] * (len(clf.coefs_) - 1) + [clf.out_activation_]
        # emlearn.convert(MLPClassifier) defaults to the 'loadable' method: this is its code
        code = net.c_generate_net_loadable(acts, clf.coefs_, clf.intercepts_, prefix=EM_PREFIX)
        params = benchkit.mlp_params(clf.coefs_, clf.intercepts_)
        classes, p1 = benchkit.emulate_mlp(params, self.Xte)
        sk_pred = clf.predict(self.Xte.astype(np.float64) / 255.0)
        r = {
            "name": name, "engine": f"emlearn {self.em_version}", "role": role, "features": "float",
            "kind": f"MLPClassifier {clf.coefs_[0].shape[0]}-{clf.coefs_[0].shape[1]}-1 relu, eml_net loadable",
            "hidden": int(clf.coefs_[0].shape[1]),
            "sklearn_agreement": float(np.mean(classes == sk_pred)),
        }
        r.update(self._metrics(classes, p1))
        header = benchkit.emlearn_header(code, EM_PREFIX, "float", "mlp", self.em_version)
        r.update(self._device(name, header, idx, classes, p1, exact=False))
        log(f"  {name}: AUC {r['auc']:.4f} acc {r['accuracy']:.4f} "
            f"cycles {r.get('cycles_median', float('nan')):.0f} static RAM {r.get('static_ram')} B "
            f"{'' if r['fits_board'] else '(DOES NOT FIT) '}({time.monotonic() - t:.1f}s)")
        return r

    def _metrics(self, classes, p1) -> dict:
        y = self.yte
        acc = float(np.mean(classes == y))
        sens = float(np.mean(classes[y == 1] == 1))
        spec = float(np.mean(classes[y == 0] == 0))
        return {"auc": metrics.auc(y, p1.astype(np.float64)), "accuracy": acc, "sensitivity": sens,
                "specificity": spec, "balanced_accuracy": (sens + spec) / 2}

    def _device(self, name, header, idx, classes, p1, exact: bool) -> dict:
        """Size probe, then (if it can fit) the cycle run on the simulated board and the agreement check."""
        probe = benchkit.size_probe(PROJECT, header, extra_includes=[self.em_include], n_inputs=self.Xte.shape[1])
        out: dict = {}
        if not probe.ok:
            out.update(flash_total=None, build_error=probe.log, fits_board=False)
            if benchkit.is_ram_overflow(probe.log):
                ram = benchkit.ram_end_from_log(probe.log)
                out.update(not_fitting=f"RAM: link fails, static RAM {ram} B > {self.board.ram_bytes} B",
                           static_ram=ram)
            else:
                out["not_fitting"] = "flash: link fails" if benchkit.is_flash_overflow(probe.log) else "build error"
            return out
        out.update(self.sizes(probe, em_symbol))
        # without a run there is no stack figure: assume the harness's smallest (the empty app uses ~30 B)
        if out["static_ram"] + 64 > self.board.ram_bytes:
            out.update(stack=None, stack_assumed=64, not_fitting="RAM")
            self.fits(out)
            return out
        size = CHUNK_BEATS
        while True:
            runs, build = [], None
            for c in chunks(idx, size):
                build, run = benchkit.run_emlearn(PROJECT, header, self.Xte[c], self.workdir("em"), self.em_include)
                if not build.ok:
                    break
                runs.append(run)
            if build.ok or not benchkit.is_flash_overflow(build.log) or size <= 5:
                break
            size //= 2  # the model fits, but not with that many test beats beside it in flash
        if not build.ok:
            out.update(build_error=build.log, not_fitting="flash (with test beats)")
            self.fits(out)
            return out
        run = benchkit.DeviceRun(*(np.concatenate([getattr(r, k) for r in runs])
                                   for k in ("conv", "pred", "proba", "classes", "p1")),
                                 max(r.stack for r in runs), runs[0].sizes)
        n = len(idx)
        sel = idx
        cls_ok = run.classes == classes[sel]
        if exact:
            p_ok = run.p1.view(np.uint32) == p1[sel].view(np.uint32)
            diff = 0.0
        else:
            d = np.abs(run.p1.astype(np.float64) - p1[sel].astype(np.float64))
            diff = float(d.max())
            p_ok = d <= 1e-5
        total = run.conv + run.pred
        out.update({
            "beats_measured": n,
            "device_agrees": bool(cls_ok.all() and p_ok.all()),
            "device_check": ("class and predict_proba bits identical" if exact else
                             f"class identical, predict_proba within {diff:.1e} (expf)"),
            "device_mismatches": int((~(cls_ok & p_ok)).sum()),
            "cycles_median": float(np.median(total)), "cycles_max": int(total.max()), "cycles_min": int(total.min()),
            "cycles_convert_median": float(np.median(run.conv)),
            "cycles_predict_median": float(np.median(run.pred)),
            "cycles_predict_proba_median": float(np.median(run.proba)),
            "stack": run.stack,
        })
        out["energy_uj"] = self.energy_uj(out["cycles_median"])
        if not out["device_agrees"]:
            log(f"  WARNING {name}: the device disagrees with the Python emulation on "
                f"{out['device_mismatches']} of {n} beats")
        self.fits(out)
        return out


AVR_MAX_OBJECT = 32767  # bytes: the largest object avr-gcc accepts (16-bit size_t)


def largest_array(model) -> int:
    if isinstance(model, models.TreeEnsemble):
        return max(model.features.size * 2, model.leaves.size * 2)
    return max(model.w1.size, model.b1.size * 4, model.w2.size)


def describe_int(model) -> str:
    if isinstance(model, models.TreeEnsemble):
        return f"{model.kind} {model.n_trees}x{model.depth}, int16 leaves, uint8 thresholds"
    if model.kind == "mlp":
        return f"int8 MLP {model.w1.shape[1]}-{model.n_hidden}-1"
    return "int8 linear"


# --------------------------------------------------------------------------- MLP RAM boundary


def mlp_boundary(bench: Bench, stack: int, n_inputs: int) -> dict:
    """Largest hidden layer of emlearn's float MLP whose static RAM + `stack` fits the SRAM (links only)."""
    from emlearn import net

    rng = np.random.default_rng(0)
    cache: dict[int, dict] = {}

    def probe(h: int) -> dict:
        if h not in cache:
            coefs = [rng.normal(size=(n_inputs, h)), rng.normal(size=(h, 1))]
            inter = [rng.normal(size=h), rng.normal(size=1)]
            code = net.c_generate_net_loadable(["relu", "logistic"], coefs, inter, prefix=EM_PREFIX)
            b = benchkit.size_probe(PROJECT, benchkit.emlearn_header(code, EM_PREFIX, "float", "mlp", bench.em_version),
                                    extra_includes=[bench.em_include], n_inputs=n_inputs)
            if b.ok:
                cache[h] = {"static_ram": b.static_ram, "links": True,
                            "fits": b.static_ram + stack <= bench.board.ram_bytes}
            else:
                cache[h] = {"static_ram": benchkit.ram_end_from_log(b.log), "links": False, "fits": False,
                            "link_error": b.log.splitlines()[0] if b.log else ""}
        return cache[h]

    lo, hi = 1, 64
    if not probe(lo)["fits"]:
        return {"largest_fitting_hidden": 0, "first_not_fitting_hidden": 1, "by_hidden": cache, "stack": stack}
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if probe(mid)["fits"] else (lo, mid)
    probe(hi)
    per_unit = None
    if lo >= 2 and probe(lo - 1)["links"]:
        per_unit = probe(lo)["static_ram"] - probe(lo - 1)["static_ram"]
    return {"largest_fitting_hidden": lo, "first_not_fitting_hidden": hi,
            "by_hidden": {str(k): v for k, v in sorted(cache.items())}, "stack_assumed": stack,
            "ram_limit": bench.board.ram_bytes, "bytes_per_hidden_unit": per_unit,
            "project_model_ram_limit": bench.board.ram_bytes - bench.args.ram_reserve}


def em_tree_boundary(bench: Bench, forest, dtype: str, known: list[dict]) -> dict:
    """Largest number of trees (first trees of `forest`) whose emlearn inline code still fits the flash.

    Starts from a linear extrapolation of the measured sweep points, then links one tree more or less at
    a time (size probe) until the boundary is pinned.
    """
    limit = bench.board.flash_bytes
    pts = sorted((r["n_trees"], r["flash_total"]) for r in known if r.get("flash_total"))
    (n1, f1), (n2, f2) = pts[-2], pts[-1]
    slope = (f2 - f1) / (n2 - n1)
    n_max = len(forest.estimators_)
    cache: dict[int, int | None] = {}

    def flash(n: int):
        if n not in cache:
            cm = bench.emlearn.convert(first_trees(forest, n), method="inline", dtype=benchkit.CTYPE[dtype])
            header = benchkit.emlearn_header(cm.save(name=EM_PREFIX, include_proba=True), EM_PREFIX, dtype,
                                             "trees", bench.em_version)
            b = benchkit.size_probe(PROJECT, header, extra_includes=[bench.em_include], n_inputs=bench.Xte.shape[1])
            cache[n] = b.flash if b.ok else None
            log(f"    emlearn {dtype} RF depth {forest.max_depth} x {n} trees: flash "
                f"{'overflows' if cache[n] is None else cache[n]}")
        return cache[n]

    def fits(n: int) -> bool:
        f = flash(n)
        return f is not None and f <= limit

    est = int(n2 + (limit - f2) // slope)
    if est >= n_max:
        if fits(n_max):
            return {"largest_fitting": None, "at_least": n_max, "flash_by_trees": cache, "depth": forest.max_depth}
        est = n_max - 1
    lo, hi = (est, None) if fits(est) else (None, est)
    for _ in range(8):
        if lo is not None and hi is not None and hi == lo + 1:
            break
        if hi is None:
            if lo + 1 > n_max or not fits(lo + 1):
                hi = lo + 1
            else:
                lo += 1
        else:
            if fits(hi - 1):
                lo = hi - 1
            else:
                hi -= 1
    return {"largest_fitting": lo, "first_not_fitting": hi, "depth": forest.max_depth,
            "flash_by_trees": {str(k): v for k, v in sorted(cache.items())}, "flash_limit": limit}


def ours_tree_boundary(bench: Bench, forest, lo: int, hi: int) -> dict:
    """Largest forest (first trees) that tinybeat builds AND runs bit-exactly on the simulated MCU.

    lo is known to work, hi not. A few beats only: test vectors in flash move the 64 KB limit a little.
    """
    d = forest.max_depth
    tried = {}

    def works(n: int) -> bool:
        model = models.trees.from_random_forest(first_trees(forest, n), d)
        if largest_array(model) > AVR_MAX_OBJECT:
            tried[n] = "array larger than 32767 B: avr-gcc refuses it"
            return False
        try:
            avrbench.measure(PROJECT, model, bench.Xte[:4])
            tried[n] = "ok"
            return True
        except RuntimeError as exc:
            tried[n] = f"runs but WRONG: {exc}"
            return False
        except subprocess.CalledProcessError:
            tried[n] = "does not build"
            return False

    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if works(mid) else (lo, mid)
        log(f"    tinybeat RF depth {d} x {mid} trees: {tried[mid]}")
    works(hi)
    model = models.trees.from_random_forest(first_trees(forest, lo), d)
    return {"largest_working": lo, "first_failing": hi, "depth": d, "first_failing_result": tried[hi],
            "model_array_bytes_at_largest": int(models.model_flash_bytes(model)), "tried": tried}


# --------------------------------------------------------------------------- report


def fmt_int(v) -> str:
    return "-" if v is None else f"{int(round(v)):,}".replace(",", " ")


def fmt_energy(v) -> str:
    return "-" if v is None else f"{v:.1f}"


def fmt_ratio(v) -> str:
    if v is None or not np.isfinite(v):
        return "-"
    return f"{v:.2f}x" if v < 10 else f"{v:.0f}x"


def add_ratios(rows: list[dict], ours: dict) -> None:
    for r in rows:
        def ratio(key, base=ours):
            a, b = r.get(key), base.get(key)
            return None if a is None or not b else a / b
        r["vs_ours"] = {
            "auc_diff": r["auc"] - ours["auc"], "accuracy_diff": r["accuracy"] - ours["accuracy"],
            "cycles": ratio("cycles_median"), "energy": ratio("energy_uj"),
            "flash_over_empty": ratio("flash_over_empty"), "flash_total": ratio("flash_total"),
            "ram_total": ratio("ram_total"),
        }


def main_table(rows: list[dict]) -> list[str]:
    head = ("| model | engine | features | test AUC | test accuracy | balanced accuracy | model bytes | flash total (over empty app) B "
            "| static RAM B | stack B | fits 2560 | median cycles | of which predict() | energy µJ | device = Python "
            "| AUC vs ours | cycles vs ours | flash vs ours | RAM vs ours |")
    out = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        v = r.get("vs_ours", {})
        flash = "-" if r.get("flash_total") is None else f"{fmt_int(r['flash_total'])} ({fmt_int(r['flash_over_empty'])})"
        fits = "yes" if r.get("fits_board") else f"**no** ({r.get('not_fitting', 'RAM' if not r.get('fits_ram', True) else 'flash')})"
        stack = fmt_int(r.get("stack")) if r.get("stack") is not None else "-"
        dev = "-" if r.get("cycles_median") is None else ("yes" if r.get("device_agrees") else "**NO**")
        bold = "**" if r.get("role") == "chosen" else ""
        out.append(
            f"| {bold}{r['name']}{bold} | {r['engine']} | {r['features']} | {r['auc']:.4f} | {100 * r['accuracy']:.1f} % | {100 * r['balanced_accuracy']:.1f} % "
            f"| {fmt_int(r.get('model_bytes'))} | {flash} | {fmt_int(r.get('static_ram'))} | {stack} | {fits} "
            f"| {fmt_int(r.get('cycles_median'))} | {fmt_int(r.get('cycles_predict_median', r.get('cycles_median')))} "
            f"| {fmt_energy(r.get('energy_uj'))} "
            f"| {dev} | {v.get('auc_diff', 0):+.4f} | {fmt_ratio(v.get('cycles'))} | {fmt_ratio(v.get('flash_over_empty'))} "
            f"| {fmt_ratio(v.get('ram_total'))} |")
    return out


def verdict(ours: dict, peers: list[dict]) -> dict:
    fit = [p for p in peers if p.get("fits_board") and p.get("cycles_median") is not None]
    same = [p for p in fit if p["flash_total"] <= ours["flash_total"] and p["ram_total"] <= ours["ram_total"]]
    res = {"n_peers": len(peers), "n_peers_fitting_board": len(fit),
           "n_peers_within_our_footprint": len(same)}

    def compare(peer):
        if peer is None:
            return None
        return {"peer": peer["name"], "peer_auc": peer["auc"], "peer_accuracy": peer["accuracy"],
                "peer_cycles": peer["cycles_median"], "ours_auc": ours["auc"], "ours_accuracy": ours["accuracy"],
                "ours_cycles": ours["cycles_median"],
                "auc_at_least_as_good": ours["auc"] >= peer["auc"],
                "accuracy_at_least_as_good": ours["accuracy"] >= peer["accuracy"],
                "faster": ours["cycles_median"] < peer["cycles_median"],
                "peer_fits_project_budget": bool(peer.get("fits_project_budget")),
                "cycles_ratio_peer_over_ours": peer["cycles_median"] / ours["cycles_median"]}

    res["best_auc_fitting_board"] = compare(max(fit, key=lambda p: (p["auc"], p["accuracy"]), default=None))
    res["best_accuracy_fitting_board"] = compare(max(fit, key=lambda p: (p["accuracy"], p["auc"]), default=None))
    res["best_auc_within_our_footprint"] = compare(max(same, key=lambda p: (p["auc"], p["accuracy"]), default=None))
    res["fastest_fitting_board"] = compare(min(fit, key=lambda p: p["cycles_median"], default=None))
    return res


def verdict_text(v: dict, ours: dict) -> list[str]:
    lines = []

    def one(title, c):
        if c is None:
            lines.append(f"- {title}: no emlearn model qualifies.")
            return
        acc_ok, auc_ok, fast = c["accuracy_at_least_as_good"], c["auc_at_least_as_good"], c["faster"]
        lines.append(
            f"- {title}: **{c['peer']}** — AUC {c['peer_auc']:.4f} vs ours {c['ours_auc']:.4f} "
            f"({'ours at least as good' if auc_ok else 'ours WORSE'}), accuracy {100 * c['peer_accuracy']:.1f} % vs "
            f"{100 * c['ours_accuracy']:.1f} % ({'ours at least as good' if acc_ok else 'ours WORSE'}), cycles "
            f"{fmt_int(c['peer_cycles'])} vs {fmt_int(c['ours_cycles'])} "
            f"({'ours faster' if fast else 'ours SLOWER'}, peer/ours = {c['cycles_ratio_peer_over_ours']:.2f})"
            f"{'' if c['peer_fits_project_budget'] else '; note: it does not fit the project budget (board less the config reserves)'}.")

    one("Most accurate (AUC) emlearn model that fits the ATmega2560", v["best_auc_fitting_board"])
    one("Most accurate (accuracy) emlearn model that fits the ATmega2560", v["best_accuracy_fitting_board"])
    one(f"Most accurate emlearn model within our chosen model's own footprint (flash ≤ {fmt_int(ours['flash_total'])} B, "
        f"RAM ≤ {fmt_int(ours['ram_total'])} B)", v["best_auc_within_our_footprint"])
    one("Fastest emlearn model that fits", v["fastest_fitting_board"])
    b = v["best_auc_fitting_board"]
    if b:
        ok = b["auc_at_least_as_good"] and b["accuracy_at_least_as_good"] and b["faster"]
        lines.insert(0, f"**Is our chosen model ({ours['name']}) at least as accurate as the best emlearn peer that "
                        f"fits the same flash and RAM, and faster?** {'Yes.' if ok else 'No.'}")
    return lines


def scaling_table(rows: list[dict]) -> list[str]:
    out = ["| engine | trees | depth | nodes (emlearn) | median cycles | flash total B | model bytes | test AUC | fits |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        fits = "yes" if r.get("fits_board") else f"**no** ({r.get('not_fitting', 'flash')})"
        out.append(f"| {r['series']} | {r['n_trees']} | {r['depth']} | {r.get('n_nodes', '-')} "
                   f"| {fmt_int(r.get('cycles_median'))} | {fmt_int(r.get('flash_total'))} | {fmt_int(r.get('model_bytes'))} "
                   f"| {r['auc']:.4f} | {fits} |")
    return out


def plot_scaling(rows: list[dict], path: Path, flash_limit: int, depth_fixed: int, trees_fixed: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = ["tinybeat", "emlearn float", "emlearn int16"]
    style = {"tinybeat": ("C0", "o"), "emlearn float": ("C3", "s"), "emlearn int16": ("C2", "^")}
    fig, axes = plt.subplots(2, 2, figsize=(11, 8.6))
    for col, (xkey, fixed_key, fixed_val, xlabel) in enumerate(
            [("n_trees", "depth", depth_fixed, f"number of trees (depth {depth_fixed})"),
             ("depth", "n_trees", trees_fixed, f"tree depth ({trees_fixed} trees)")]):
        for row, (ykey, ylabel) in enumerate([("cycles_median", "median cycles per inference"),
                                              ("flash_total", "program flash (bytes)")]):
            ax = axes[row, col]
            for s in series:
                pts = sorted((r for r in rows if r["series"] == s and r[fixed_key] == fixed_val),
                             key=lambda r: r[xkey])
                ok = [r for r in pts if r.get(ykey) is not None and r.get("fits_board")]
                bad = [r for r in pts if not r.get("fits_board")]
                c, m = style[s]
                ax.plot([r[xkey] for r in ok], [r[ykey] for r in ok], marker=m, color=c, label=s)
                if ykey == "cycles_median" and s != "tinybeat":
                    ax.plot([r[xkey] for r in ok], [r["cycles_predict_median"] for r in ok], marker=m, color=c,
                            ls="--", mfc="none", alpha=0.7, label=f"{s}: predict() only, without input conversion")
                for r in bad:
                    ax.axvline(r[xkey], color=c, ls=":", lw=1)
                    ax.text(r[xkey], 0.5, f"{s}: does not build", transform=ax.get_xaxis_transform(), fontsize=7,
                            color=c, rotation=90, va="center", ha="right")
            if ykey == "flash_total":
                ax.axhline(flash_limit, color="k", ls="--", lw=1)
                ax.text(0.01, flash_limit, "ATmega2560 flash limit", transform=ax.get_yaxis_transform(),
                        va="bottom", fontsize=8)
            if xkey == "n_trees":
                ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.grid(True, which="both", alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle("Cost against model size on the simulated ATmega2560 (same random-forest trees, avr-gcc -Os)")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- main


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", default="data/mitbih_train.csv.gz")
    ap.add_argument("--test", default="data/mitbih_test.csv.gz")
    ap.add_argument("--target", default="target")
    ap.add_argument("--group", default="record")
    ap.add_argument("--trained", default="model/trained.json")
    ap.add_argument("--board", default="megaatmega2560")
    ap.add_argument("--beats", type=int, default=200, help="test beats run on the simulated MCU per model")
    ap.add_argument("--scaling-beats", type=int, default=50, help="beats per point of the scaling sweep")
    ap.add_argument("--front-points", type=int, default=4, help="other Pareto-front models besides the chosen")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=None, help="default: the search seed in model/config.yaml")
    ap.add_argument("--ram-reserve", type=int, default=None, help="default: budget.ram_reserve in model/config.yaml")
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--keep-builds", action="store_true", help="keep the emlearn firmware builds (in /tmp)")
    args = ap.parse_args(argv)
    out_dir = Path(args.out)
    command = ".venv/bin/python bench/run_bench.py" + ("" if not argv and len(sys.argv) == 1 else
                                                       " " + shlex.join(sys.argv[1:] if argv is None else argv))
    started = datetime.datetime.now().astimezone()

    cfg = config.load_config(PROJECT / "model/config.yaml")
    seed = cfg.search.seed if args.seed is None else args.seed
    args.ram_reserve = cfg.budget.ram_reserve if args.ram_reserve is None else args.ram_reserve
    args.flash_reserve = cfg.budget.flash_reserve
    board = boards.load_board(PROJECT, args.board)
    trained_path = PROJECT / args.trained
    trained_text = trained_path.read_text()
    trained = json.loads(trained_text)
    chosen = pipeline.select_for_board(trained, board, cfg)
    log(f"trained.json {trained['fingerprint'][:16]}: chosen for {board.id} = {chosen['name']}")

    Xtr, ytr, Xte, yte = load_data(args)
    n_inputs = Xte.shape[1]
    log(f"data: train {Xtr.shape[0]} beats, test {Xte.shape[0]} beats x {n_inputs} samples")
    sub_idx = np.unique(np.linspace(0, len(Xte) - 1, min(args.beats, len(Xte))).astype(int))
    scaling_idx = sub_idx[np.unique(np.linspace(0, len(sub_idx) - 1, min(args.scaling_beats, len(sub_idx))).astype(int))]
    X01tr = Xtr.astype(np.float64) / 255.0
    Xtr_f = Xtr.astype(np.float64)

    # ---- fits (scikit-learn); forests are fitted once at the largest size, smaller ones are their first trees
    log("fitting scikit-learn models for the emlearn peers and the scaling sweep ...")
    cd, cn = (chosen["model"]["depth"], len(chosen["model"]["features"])) if chosen["family"] == "rf" else (7, 32)
    depths = [2, 3, 4, 5, 6, 7]
    boundary_trees = 320  # depth-7 forest size for finding where emlearn's inline trees overflow the flash
    trees_sweep = [4, 8, 16, 32, 64, 128]
    scale_depth, scale_trees = 7, 16
    forests = {}  # depth -> (fit on x/255, fit on bytes)
    for d in depths:
        n = max([scale_trees] + ([boundary_trees] if d == scale_depth else []) + ([cn] if d == cd else [])
                + ([12] if d == 5 else []))
        forests[d] = (rf(d, n, seed, X01tr, ytr), rf(d, n, seed, Xtr_f, ytr))
        log(f"  RandomForest depth {d} x {n} trees (on x/255 and on the bytes): same trees "
            f"{same_structure(*forests[d])}")
    et = (extra_trees(cd, cn, seed, X01tr, ytr), extra_trees(cd, cn, seed, Xtr_f, ytr))
    log(f"  ExtraTrees depth {cd} x {cn}: same trees on x/255 and on the bytes {same_structure(*et)}")
    bench = Bench(args, board, Xte, yte, sub_idx, scaling_idx)
    log(f"emlearn {bench.em_version}; empty app: flash {bench.empty.flash} B, static RAM {bench.empty.static_ram} B")
    log("finding the largest emlearn float MLP whose weights fit the SRAM (links only) ...")
    boundary = mlp_boundary(bench, MLP_STACK_ASSUMED, n_inputs)
    log(f"  largest fitting hidden layer: {boundary['largest_fitting_hidden']} units "
        f"(static RAM + {MLP_STACK_ASSUMED} B stack <= {board.ram_bytes} B)")
    front_mlps = [e for e in trained["front"] if e["family"] == "mlp"]
    hmax = boundary["largest_fitting_hidden"]
    hidden_sizes = sorted(({2, 4} | {int(e["params"]["hidden"]) for e in front_mlps} | {hmax, hmax + 1}) - {0})
    mlps = {h: mlp(h, seed, X01tr, ytr) for h in hidden_sizes}
    log(f"  MLPClassifier hidden {hidden_sizes}")

    # check: is our chosen model exactly these trees?
    same_as_chosen = None
    if chosen["family"] == "rf":
        ours_again = models.trees.from_random_forest(first_trees(forests[cd][1], cn), cd)
        ch = models.from_dict(chosen["model"])
        same_as_chosen = bool(np.array_equal(ours_again.features, ch.features)
                              and np.array_equal(ours_again.thresholds, ch.thresholds)
                              and np.array_equal(ours_again.leaves, ch.leaves))
        log(f"  the emlearn RF d{cd}x{cn} peers use exactly the trees of our chosen model: {same_as_chosen}")


    # ---- the main comparison
    ours_jobs = [("chosen", chosen)] + [("front", e) for e in pick_front_points(trained["front"], chosen["name"],
                                                                                args.front_points)]
    jobs = []
    for role, e in ours_jobs:
        jobs.append(("main", lambda e=e, role=role: bench.ours(
            e["name"], models.from_dict(e["model"]), role, sub_idx,
            {"cv_metric": e["cv_metric"], "stored_test": e.get("test"),
             "decision_threshold": int(e.get("decision_threshold", 0))},
            threshold=int(e.get("decision_threshold", 0)))))
    rf_sizes = sorted({(5, 12), (7, 16), (7, 32), (cd, cn)})
    for d, n in rf_sizes:
        f01, fb = (first_trees(forests[d][0], n), first_trees(forests[d][1], n))
        jobs.append(("main", lambda f01=f01, d=d, n=n: bench.emlearn_trees(
            f"emlearn RF d{d}x{n} float", f01, "float", 0, "peer", sub_idx, Xte / 255.0)))
        jobs.append(("main", lambda fb=fb, d=d, n=n: bench.emlearn_trees(
            f"emlearn RF d{d}x{n} int16", fb, "int16", 0, "peer", sub_idx, Xte.astype(np.float64))))
    c01, cb = first_trees(forests[cd][0], cn), first_trees(forests[cd][1], cn)
    jobs.append(("main", lambda: bench.emlearn_trees(f"emlearn RF d{cd}x{cn} float soft", c01, "float", 8, "peer",
                                                     sub_idx, Xte / 255.0)))
    jobs.append(("main", lambda: bench.emlearn_trees(f"emlearn RF d{cd}x{cn} int16 soft", cb, "int16", 8, "peer",
                                                     sub_idx, Xte.astype(np.float64))))
    jobs.append(("main", lambda: bench.emlearn_trees(f"emlearn ExtraTrees d{cd}x{cn} float", et[0], "float", 0,
                                                     "peer", sub_idx, Xte / 255.0)))
    jobs.append(("main", lambda: bench.emlearn_trees(f"emlearn ExtraTrees d{cd}x{cn} int16", et[1], "int16", 0,
                                                     "peer", sub_idx, Xte.astype(np.float64))))
    for h, clf in mlps.items():
        jobs.append(("main", lambda h=h, clf=clf: bench.emlearn_mlp(f"emlearn MLP-{h} float", clf, "peer", sub_idx)))

    same_tb = models.trees.from_random_forest(first_trees(forests[cd][1], cn), cd)
    jobs.append(("same", lambda: bench.ours(f"tinybeat rf d{cd}x{cn}", same_tb, "same-trees", sub_idx)))

    # ---- the scaling sweep: the same forests through both engines
    points = sorted({(scale_depth, n) for n in trees_sweep} | {(d, scale_trees) for d in depths})
    for d, n in points:
        fb, f01 = first_trees(forests[d][1], n), first_trees(forests[d][0], n)
        tb = models.trees.from_random_forest(fb, d)
        jobs.append(("scaling", lambda tb=tb, d=d, n=n: {**bench.ours(f"tinybeat rf d{d}x{n}", tb, "scaling",
                                                                        scaling_idx), "series": "tinybeat"}))
        jobs.append(("scaling", lambda f01=f01, d=d, n=n: {**bench.emlearn_trees(
            f"emlearn RF d{d}x{n} float", f01, "float", 0, "scaling", scaling_idx, Xte / 255.0),
            "series": "emlearn float"}))
        jobs.append(("scaling", lambda fb=fb, d=d, n=n: {**bench.emlearn_trees(
            f"emlearn RF d{d}x{n} int16", fb, "int16", 0, "scaling", scaling_idx, Xte.astype(np.float64)),
            "series": "emlearn int16"}))

    log(f"building and simulating {len(jobs)} firmwares on {args.jobs} workers ...")
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [(kind, pool.submit(fn)) for kind, fn in jobs]
        results = [(kind, f.result()) for kind, f in futures]
    main_rows = [r for k, r in results if k == "main"]
    scaling_rows = [r for k, r in results if k == "scaling"]
    same_rows = [r for k, r in results if k == "same"] + [
        r for r in main_rows if r["name"].startswith(f"emlearn RF d{cd}x{cn} ")]

    ours = next(r for r in main_rows if r["role"] == "chosen")
    ours_rows = [r for r in main_rows if r["engine"] == "tinybeat"]
    peer_rows = sorted([r for r in main_rows if r["engine"] != "tinybeat"],
                       key=lambda r: (r["name"].split(" ")[1], r.get("flash_total") or 1e12))
    add_ratios(main_rows, ours)
    ordered = [ours] + [r for r in ours_rows if r is not ours] + peer_rows

    # the MLP boundary, now with the measured stack
    hrows = {r["hidden"]: r for r in peer_rows if r.get("hidden")}
    if hmax in hrows:
        boundary["stack_measured_at_largest"] = hrows[hmax].get("stack")
        boundary["largest_confirmed_on_device"] = bool(hrows[hmax].get("fits_board"))
    v = verdict(ours, peer_rows)

    # where the depth-7 forests stop fitting: emlearn (flash, by linking) and tinybeat (by running)
    log(f"finding where depth-{scale_depth} forests stop fitting ...")
    sweep7 = {s: [r for r in scaling_rows if r["series"] == s and r["depth"] == scale_depth]
              for s in ("tinybeat", "emlearn float", "emlearn int16")}
    ok_ours = [r["n_trees"] for r in sweep7["tinybeat"] if r.get("fits_board")]
    bad_ours = [r["n_trees"] for r in sweep7["tinybeat"] if not r.get("fits_board")]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        f_float = pool.submit(em_tree_boundary, bench, forests[scale_depth][0], "float", sweep7["emlearn float"])
        f_int = pool.submit(em_tree_boundary, bench, forests[scale_depth][1], "int16", sweep7["emlearn int16"])
        f_ours = pool.submit(ours_tree_boundary, bench, forests[scale_depth][1], max(ok_ours),
                             min(bad_ours, default=boundary_trees))
        limits = {"emlearn float": f_float.result(), "emlearn int16": f_int.result(), "tinybeat": f_ours.result()}
    for k, lim in limits.items():
        log(f"  {k}: {lim}")

    elapsed = time.monotonic() - T0
    trained_changed = trained_path.read_text() != trained_text
    result = {
        "command": command, "date": started.isoformat(timespec="seconds"), "elapsed_s": round(elapsed, 1),
        "host": {"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "emlearn_version": bench.em_version,
        "avr_gcc": subprocess.run(["avr-gcc", "--version"], capture_output=True, text=True).stdout.splitlines()[0],
        "avr_gcc_flags": [f"-mmcu={benchkit.MCU}", f"-DF_CPU={benchkit.F_CPU}L", *avrbench.CFLAGS, *avrbench.LDFLAGS],
        "board": {"id": board.id, "flash_bytes": board.flash_bytes, "ram_bytes": board.ram_bytes,
                  "f_cpu": board.f_cpu},
        "data": {"train": args.train, "test": args.test, "train_beats": int(len(Xtr)), "test_beats": int(len(Xte)),
                 "test_abnormal": int(yte.sum()), "beats_on_device": int(len(sub_idx)),
                 "beats_on_device_scaling": int(len(scaling_idx))},
        "trained_json": {"fingerprint": trained["fingerprint"], "chosen": chosen["name"],
                         "changed_during_run": trained_changed},
        "seed": seed, "n_inputs": n_inputs,
        "same_trees_as_chosen": same_as_chosen,
        "energy": {"supply_v": SUPPLY_V, "icc_ma_at_16mhz": ICC_TABLE_MA * (benchkit.F_CPU / 1e6) / ICC_TABLE_MHZ,
                   "nj_per_cycle": bench.energy_uj(1) * 1000, "source": ENERGY_SOURCE},
        "empty_app": {"flash": bench.empty.flash, "static_ram": bench.empty.static_ram},
        "verdict": v, "mlp_ram_boundary": boundary, "tree_flash_limits": limits,
        "models": ordered, "same_trees": same_rows, "scaling": scaling_rows,
    }
    (out_dir / "results.json").write_text(json.dumps(result, indent=1, default=lambda o: o.item()
                                                     if hasattr(o, "item") else str(o)) + "\n")
    plot_scaling(scaling_rows, out_dir / "scaling.png", board.flash_bytes, scale_depth, scale_trees)
    write_markdown(out_dir / "results.md", result, ours, ordered, scaling_rows, v, boundary, limits, bench,
                   same_as_chosen, cd, cn, same_rows)
    if args.keep_builds:
        log(f"emlearn builds kept in {bench.tmp}")
    else:
        shutil.rmtree(bench.tmp, ignore_errors=True)
    log(f"wrote {out_dir / 'results.md'}, results.json, scaling.png in {elapsed:.0f} s")
    if trained_changed:
        log("WARNING: model/trained.json changed during the run: run the bench again for final numbers")
    return 0


def write_markdown(path, res, ours, rows, scaling_rows, v, boundary, limits, bench, same_as_chosen, cd, cn, same_rows):
    e = res["energy"]
    L = ["# tinybeat vs emlearn on the ATmega2560", "",
         f"Produced by `{res['command']}` on {res['date']} ({res['elapsed_s']:.0f} s on {res['host']['cpus']} cores).", "",
         f"- Data: `{res['data']['train']}` for training, `{res['data']['test']}` for every metric "
         f"({res['data']['test_beats']} test beats, {res['data']['test_abnormal']} abnormal); AUC and accuracy on the "
         f"full test split, cycles on {res['data']['beats_on_device']} evenly spaced test beats run on the simulated "
         f"board (simavr `avr-vboard`, ATmega2560 at 16 MHz).",
         f"- Ours: `model/trained.json` (fingerprint `{res['trained_json']['fingerprint'][:16]}`); the model chosen for "
         f"`{res['board']['id']}` is **{ours['name']}**, plus {len([r for r in rows if r['engine'] == 'tinybeat']) - 1} "
         f"other points of its Pareto front."
         + (" **model/trained.json changed during this run: numbers may be stale.**"
            if res["trained_json"]["changed_during_run"] else ""),
         f"- Peers: emlearn {res['emlearn_version']} (`pip install emlearn=={res['emlearn_version']}`), "
         f"trained on the same training split with scikit-learn; RandomForest uses tinybeat's own forest settings "
         f"(max_features=sqrt, min_samples_leaf=5, seed {res['seed']})"
         + (f", so `emlearn RF d{cd}x{cn}` runs **the very trees of {ours['name']}** (checked node by node)."
            if same_as_chosen else "."),
         f"- Everything is compiled by {res['avr_gcc']} with the firmware's flags "
         f"`{' '.join(res['avr_gcc_flags'])}`.",
         f"- Energy per inference = {e['supply_v']:.0f} V x {e['icc_ma_at_16mhz']:.0f} mA x cycles / 16 MHz "
         f"= {e['nj_per_cycle']:.2f} nJ per cycle. Source: {e['source']}.", "",
         "## Results", "",
         "Ratios are against our chosen model (bold); cycles and energy per beat are medians. "
         f"emlearn cycles = converting the {res['n_inputs']} input bytes to emlearn's feature type + `<model>_predict()` "
         "(the class), and the next column shows `<model>_predict()` alone; `predict_proba` costs are in results.json. "
         "tinybeat's cycles are one `tb_model_score()` call on the input bytes.", ""]
    L += main_table(rows)
    L += ["", "Columns: *model bytes* = the model itself in flash (tinybeat: its arrays and descriptor; emlearn: the "
          "generated tree code or weight arrays, from `avr-nm`); *flash total* = .text + .data of the smallest "
          f"application around the model (`bench/firmware/size_main.c`: UART in, model, UART out; the same app with "
          f"no model is {fmt_int(res['empty_app']['flash'])} B), with the growth over that empty app in brackets; "
          f"*static RAM* = .data + .bss of that app (the empty app: {res['empty_app']['static_ram']} B, its {res['n_inputs']}-byte "
          "input buffer included); *stack* = painted-stack high-water mark of the cycle run (harness included); "
          f"*fits 2560* = flash total ≤ {fmt_int(res['board']['flash_bytes'])} B and static RAM + stack ≤ "
          f"{res['board']['ram_bytes']} B; *device = Python* = the simulated MCU's class and probability agree with "
          "the numpy model used for the test metrics on every measured beat.", "",
          "## Verdict", ""]
    L += verdict_text(v, ours)
    L += ["", f"## Same trees, two engines: random forest depth {cd} x {cn} trees", "",
          "One scikit-learn forest (fitted on the bytes; for float features the identical forest fitted on x/255), "
          "run by tinybeat's integer kernel and by emlearn's generated code. This isolates the engine: "
          "differences in AUC come only from the leaf representation (tinybeat: int16 probabilities; emlearn: "
          "majority vote, or 8-bit class proportions for `soft`) and from emlearn's int16 threshold truncation.", "",
          "| engine | features | test AUC | test accuracy | median cycles | of which predict() | flash total B "
          "| static RAM B | stack B |", "|---|---|---|---|---|---|---|---|---|"]
    for r in same_rows:
        L.append(f"| {r['name']} | {r['features']} | {r['auc']:.4f} | {100 * r['accuracy']:.1f} % "
                 f"| {fmt_int(r.get('cycles_median'))} | {fmt_int(r.get('cycles_predict_median', r.get('cycles_median')))} "
                 f"| {fmt_int(r.get('flash_total'))} | {fmt_int(r.get('static_ram'))} | {fmt_int(r.get('stack'))} |")
    b = boundary
    by_h = ", ".join(f"{k}: {v['static_ram']} B{'' if v['links'] else ' (link fails)'}" for k, v in b["by_hidden"].items())
    stack_txt = (f"{b['stack_measured_at_largest']} B measured" if b.get("stack_measured_at_largest")
                 else f"{b['stack_assumed']} B assumed")
    L += ["", "## Where models stop fitting", "",
          f"- **emlearn float MLP** (`eml_net`, the 'loadable' method emlearn uses by default for MLPClassifier): "
          f"weights and biases are `static const float` arrays, which avr-gcc keeps in SRAM (.data: no PROGMEM), "
          f"plus two {res['n_inputs']}-float activation buffers (.bss). Each hidden unit costs "
          f"{b.get('bytes_per_hidden_unit') or '~750'} B of SRAM. The largest hidden layer that fits is "
          f"**{b['largest_fitting_hidden']} units** (static RAM + stack ({stack_txt}) ≤ {b['ram_limit']} B); "
          f"**{b['first_not_fitting_hidden']} units does not fit** (the link fails: `.bss` not within region `data`). "
          f"With the project's {bench.args.ram_reserve} B RAM reserve for the firmware the limit would be "
          f"{b['project_model_ram_limit']} B. Static RAM by hidden units: {by_h}.",
          ]
    for s, lim in limits.items():
        if s == "tinybeat":
            continue
        if lim.get("largest_fitting") is None:
            L.append(f"- **{s} random forest**, depth {lim['depth']}: even {lim.get('at_least')} trees fit the flash.")
            continue
        L.append(f"- **{s} random forest** (the trees become inline if/else code in flash), depth {lim['depth']}: "
                 f"**{lim['largest_fitting']} trees fit, {lim['first_not_fitting']} do not** (program flash > "
                 f"{fmt_int(lim['flash_limit'])} B; probes: "
                 + ", ".join(f"{k} trees {fmt_int(v) if v else 'link fails'} B" for k, v in lim["flash_by_trees"].items())
                 + ").")
    t = limits["tinybeat"]
    L.append(f"- **tinybeat random forest**, depth {t['depth']}: **{t['largest_working']} trees work, "
             f"{t['first_failing']} do not** ({t['first_failing_result']}). The engine reads the model with "
             f"`pgm_read_byte/word` (16-bit addresses, lib/tinybeat/tb_flash.h), so its arrays must lie in the first "
             f"64 KB of flash, and avr-gcc accepts no array over 32767 B; at {t['largest_working']} trees the arrays "
             f"take {fmt_int(t['model_array_bytes_at_largest'])} B. Past that limit the firmware builds but computes "
             f"wrong scores, silently.")
    L += ["", "## Cost against model size", "",
          f"The same random forests (trained on the bytes; for emlearn float on x/255, the identical trees) through "
          f"both engines, {res['data']['beats_on_device_scaling']} beats per point. ![scaling](scaling.png)", ""]
    L += scaling_table(sorted(scaling_rows, key=lambda r: (r["series"], r["depth"], r["n_trees"])))
    L += ["", "## Notes on semantics", "",
          "- emlearn trees compare `x < threshold`; scikit-learn's threshold is a midpoint such as 127.5. "
          "With float features emlearn prints it as `%.6f` (exact here); with int16 features it truncates it "
          "to 127, so `x < 127` replaces scikit-learn's `x <= 127.5`: values equal to the threshold go the other "
          "way. *sklearn agreement* in results.json shows how often each emlearn model predicts the same class "
          "as the scikit-learn model it came from (majority vote instead of averaged probabilities also counts).",
          "- emlearn's default leaf representation is a majority vote (the class); its probability is votes/trees, "
          "coarse, which lowers AUC. `soft` rows use `leaf_bits=8` (class proportions), like tinybeat's "
          "probability leaves.",
          "- Classes: tinybeat predicts class 1 when the integer score is above the decision threshold stored with "
          "each front entry in model/trained.json (0 when absent), as the firmware does; emlearn predicts with its "
          "own rule (majority / argmax, i.e. probability above 0.5). AUC does not depend on either.",
          "- Float features: the device converts its input bytes with `(float)x * (1.0f/255.0f)` (soft-float on AVR); "
          "that conversion is included in emlearn's cycles and shown separately in results.json. int16 features "
          "take the bytes as they are.",
          "- tinybeat cycles come from `tinybeat.device.measure.measure` (bench/firmware/cycles_main.c), which also "
          "asserts bit-exact scores against the Python reference; emlearn cycles come from "
          "bench/firmware/emlearn_main.c with the same Timer1 method (tbavr), the same inputs and flags.",
          ""]
    path.write_text("\n".join(L) + "\n")


if __name__ == "__main__":
    sys.exit(main())
