"""The C engine (lib/tinybeat) is bit-exact with the Python integer reference.

For every family the pipeline emits (gbt, rf, mlp, linear, fitted by
tinybeat.core.search.fit_integer_models on synthetic uint8 data) and for hand-made
edge models (depth 1 and depth 7 trees, extreme int16 leaves and int32 biases,
requantisation corner cases), the generated model and golden headers are
compiled with lib/tinybeat/*.c and a tiny driver by the host gcc with
-Wall -Wextra -Werror and AddressSanitizer/UBSan, run on a few hundred inputs
(including all-0 and all-255 rows and rows sitting exactly on thresholds), and
every score and class must equal tinybeat.core.families.predict_scores.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pytest

from projkit import single_threaded
from tinybeat.codegen import c_header
from tinybeat.core import families
from tinybeat.core.search import FitSpec, fit_integer_models
from tinybeat.core.families import DenseModel, TreeEnsemble

ROOT = Path(__file__).resolve().parents[1]
ENGINE_DIR = ROOT / "lib" / "tinybeat"
GCC = shutil.which("gcc")

pytestmark = pytest.mark.skipif(GCC is None, reason="the host gcc is not installed")


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    with single_threaded():
        yield

CFLAGS = ["-std=c99", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-fsanitize=address,undefined",
          "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]

# The driver copies each golden input into a heap buffer of exactly n_inputs bytes
# (AddressSanitizer then flags any read past it), prints "score class score2" per
# row, and counts disagreements with the golden header's own scores and classes.
DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>

#include "tinybeat.h"
#include "tinybeat_golden.h"
#include "tinybeat_model.h"

typedef char n_inputs_agree[(TB_MODEL_N_INPUTS == TB_GOLDEN_N_INPUTS) ? 1 : -1];

int main(void)
{
	unsigned long golden_mismatches = 0;
	uint8_t *x = malloc(TB_GOLDEN_N_INPUTS);
	if (!x)
		return 2;
	for (unsigned long k = 0; k < TB_GOLDEN_COUNT; k++) {
		for (unsigned long i = 0; i < TB_GOLDEN_N_INPUTS; i++)
			x[i] = tb_flash_u8(tb_golden_inputs + k * TB_GOLDEN_N_INPUTS + i);
		int32_t score = 0, again = 0;
		uint8_t klass = TB_CLASS_NONE;
		if (tb_model_predict(&tb_model, x, TB_GOLDEN_N_INPUTS, &score, &klass) != TB_OK ||
		    tb_model_score(&tb_model, x, TB_GOLDEN_N_INPUTS, &again) != TB_OK)
			return 3;
		if (score != tb_flash_i32(tb_golden_scores + k) || klass != tb_flash_u8(tb_golden_classes + k))
			golden_mismatches++;
		printf("%ld %u %ld\n", (long)score, (unsigned)klass, (long)again);
	}
	free(x);
	printf("golden_mismatches %lu\n", golden_mismatches);
	return 0;
}
"""


@dataclass
class Case:
    """One model to check: the integer model, its input count and decision threshold."""

    model: families.IntModel
    n_inputs: int
    threshold: int = 0


# ---- inputs ---------------------------------------------------------------------------------

def synthetic_u8(n_rows: int, n_inputs: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 inputs with a learnable, partly non-linear label."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(n_rows, n_inputs), dtype=np.int64)
    logit = (X[:, 0] - 128) / 40 - (X[:, 1] - 128) / 50 + 2.0 * ((X[:, 2] > 150) & (X[:, 3] < 100))
    y = (logit + rng.normal(0, 0.7, n_rows) > 0).astype(np.int64)
    return X.astype(np.uint8), y


def probe_inputs(case: Case, n_random: int = 240, seed: int = 1) -> np.ndarray:
    """Random rows, constant rows (0, 1, 127, 128, 254, 255) and, for trees, rows on every threshold.

    A constant row x = t (and t + 1) puts every node whose threshold is t exactly
    on its boundary (x <= t goes left) or just past it.
    """
    rng = np.random.default_rng(seed)
    n = case.n_inputs
    rows = [rng.integers(0, 256, size=(n_random, n))]
    rows.append(np.array([[v] * n for v in (0, 1, 127, 128, 254, 255)]))
    if isinstance(case.model, TreeEnsemble):
        levels = np.unique(case.model.thresholds.astype(np.int64))
        levels = np.unique(np.concatenate([levels, np.minimum(levels + 1, 255)]))
        rows.append(np.repeat(levels[:, None], n, axis=1))
        # and random rows whose features mostly sit on (or next to) some threshold of the model
        picks = rng.choice(levels, size=(24, n))
        rows.append(np.where(rng.random((24, n)) < 0.7, picks, rng.integers(0, 256, size=(24, n))))
    return np.vstack(rows).astype(np.uint8)


# ---- models ---------------------------------------------------------------------------------

def fitted(family: str, params: tuple, sizes: tuple = ()) -> Callable[[], Case]:
    """A case built by the pipeline's own fitting code."""

    def make() -> Case:
        X, y = synthetic_u8(400, 24, seed=0)
        models_out = list(fit_integer_models(FitSpec(family, params, sizes), X, y, seed=0))
        _, _, model = models_out[-1]  # the largest size
        return Case(model, X.shape[1])

    return make


def random_trees(n_trees: int, depth: int, n_inputs: int, seed: int, *, leaves: str = "random",
                 bias: int = 0, threshold: int = 0) -> Callable[[], Case]:
    """Random complete trees; thresholds include 0 and 255, leaves random or extreme."""

    def make() -> Case:
        rng = np.random.default_rng(seed)
        n_internal = 2**depth - 1
        features = rng.integers(0, n_inputs, size=(n_trees, n_internal)).astype(np.uint8)
        thresholds = rng.integers(0, 256, size=(n_trees, n_internal))
        thresholds[rng.random(thresholds.shape) < 0.1] = 0
        thresholds[rng.random(thresholds.shape) < 0.1] = 255
        if leaves == "max":
            values = np.full((n_trees, n_internal + 1), 32767)
        elif leaves == "min":
            values = np.full((n_trees, n_internal + 1), -32768)
        elif leaves == "extreme":
            values = rng.choice([-32768, -32767, -1, 0, 1, 32766, 32767], size=(n_trees, n_internal + 1))
        else:
            values = rng.integers(-32768, 32768, size=(n_trees, n_internal + 1))
        model = TreeEnsemble("gbt", depth, features, thresholds.astype(np.uint8), values.astype(np.int16),
                             bias, 1.0)
        return Case(model, n_inputs, threshold)

    return make


def dense(kind: str, n_hidden: int, n_inputs: int, seed: int, *, w: str = "random", b1: int | None = None,
          m1: int = 200, s1: int = 12, b2: int = 0, threshold: int = 0) -> Callable[[], Case]:
    """Hand-made dense models: random or all-extreme int8 weights and chosen requantisation."""

    def make() -> Case:
        rng = np.random.default_rng(seed)

        def weights(shape: tuple) -> np.ndarray:
            if w == "max":
                return np.full(shape, 127, np.int8)
            if w == "min":
                return np.full(shape, -128, np.int8)
            if w == "sign":
                return rng.choice(np.array([-128, -127, 126, 127], np.int8), size=shape)
            return rng.integers(-128, 128, size=shape).astype(np.int8)

        if kind == "linear":
            model = DenseModel("linear", np.zeros((0, n_inputs), np.int8), np.zeros(0, np.int32), 1, 1,
                               weights((n_inputs,)), b2, 1.0)
        else:
            bias1 = rng.integers(-20000, 20000, size=n_hidden) if b1 is None else np.full(n_hidden, b1)
            model = DenseModel("mlp", weights((n_hidden, n_inputs)), bias1.astype(np.int32), m1, s1,
                               weights((n_hidden,)), b2, 1.0)
        return Case(model, n_inputs, threshold)

    return make


INT32_MAX = 2**31 - 1
N = 187  # the default model's input count
LIN_SPAN = 127 * 255 * N  # |dot(w2, x)| of a linear model with all weights +-127 at x = 255

CASES: dict[str, Callable[[], Case]] = {
    # the four families, as the pipeline fits them
    "gbt-fitted-d3": fitted("gbt", (("depth", 3), ("learning_rate", 0.2)), (16,)),
    "gbt-fitted-d5-padded": fitted("gbt", (("depth", 5), ("learning_rate", 0.1)), (8,)),
    "rf-fitted-d5": fitted("rf", (("depth", 5),), (8,)),
    "mlp-fitted": fitted("mlp", (("hidden", 4),)),
    "linear-fitted": fitted("linear", (("C", 1.0),)),
    # trees at the depth limits and with extreme leaves and biases
    "trees-depth1": random_trees(5, 1, N, seed=1),
    "trees-depth7": random_trees(3, 7, N, seed=2),
    "trees-depth7-256-inputs": random_trees(2, 7, 256, seed=3),
    "trees-255-max-leaves": random_trees(255, 2, N, seed=4, leaves="max", bias=2**30),
    "trees-255-min-leaves": random_trees(255, 2, N, seed=5, leaves="min", bias=-(2**30)),
    "trees-extreme-leaves": random_trees(40, 4, N, seed=6, leaves="extreme", bias=-12345, threshold=-3),
    # dense models at the int8 / int32 limits
    "linear-max-score": dense("linear", 0, N, seed=7, w="max", b2=INT32_MAX - LIN_SPAN),
    "linear-min-score": dense("linear", 0, N, seed=8, w="min", b2=-(2**31) + 128 * 255 * N),
    "linear-sign": dense("linear", 0, N, seed=9, w="sign", b2=-5, threshold=400_000),
    "mlp-saturating": dense("mlp", 8, N, seed=10, w="sign", m1=255, s1=12),
    "mlp-relu-edge": dense("mlp", 3, N, seed=11, b1=0, m1=128, s1=1),
    "mlp-s1-31": dense("mlp", 2, 16, seed=12, m1=255, s1=31, b1=5),
    # the largest accumulator for which acc * m1 + 2**(s1-1) still fits int32
    "mlp-max-hidden": dense("mlp", 16, N, seed=13, w="max", b1=(INT32_MAX - 2**23) // 255 - LIN_SPAN, m1=255, s1=24),
}

# Cases whose probe inputs reach both classes (the others sit at a limit on purpose).
BOTH_CLASSES = {name for name in CASES if name.split("-")[0] in ("gbt", "rf")} | {
    "mlp-fitted", "linear-fitted", "trees-depth1", "trees-depth7", "trees-depth7-256-inputs",
    "trees-extreme-leaves", "linear-sign", "mlp-saturating", "mlp-relu-edge"}


# ---- build and run ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def engine_objects(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """lib/tinybeat/*.c compiled once (the engine does not include the generated headers)."""
    out = tmp_path_factory.mktemp("engine")
    objects = []
    for src in sorted(ENGINE_DIR.glob("*.c")):
        obj = out / (src.stem + ".o")
        cc = subprocess.run([GCC, *CFLAGS, "-I", str(ENGINE_DIR), "-c", str(src), "-o", str(obj)],
                            capture_output=True, text=True, timeout=120)
        assert cc.returncode == 0, f"compiling {src.name} failed:\n{cc.stderr}"
        objects.append(str(obj))
    assert objects, f"no C sources in {ENGINE_DIR}"
    return objects


def build_and_run(case: Case, X: np.ndarray, workdir: Path,
                  objects: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Compile the driver with the case's headers, link the engine; return (scores, classes, scores2, golden mismatches)."""
    expected = families.predict_scores(case.model, X)
    classes = (expected > case.threshold).astype(np.uint8)
    fp = "0123456789abcdef" * 4
    (workdir / "tinybeat_model.h").write_text(c_header.model_header(
        case.model, n_inputs=case.n_inputs, decision_threshold=case.threshold, fingerprint=fp,
        cycle_estimate=1, cycle_budget=1))
    (workdir / "tinybeat_golden.h").write_text(c_header.golden_header(X, expected, classes, fp))
    (workdir / "driver.c").write_text(DRIVER)
    exe = workdir / "driver"
    cc = subprocess.run([GCC, *CFLAGS, "-I", str(ENGINE_DIR), "-I", str(workdir), str(workdir / "driver.c"),
                         *objects, "-o", str(exe)],
                        capture_output=True, text=True, timeout=120)
    assert cc.returncode == 0, f"compiling the engine failed:\n{cc.stderr}"
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and not run.stderr, f"driver failed ({run.returncode}):\n{run.stderr[-4000:]}"
    lines = run.stdout.splitlines()
    assert lines[-1].startswith("golden_mismatches ")
    table = np.array([[int(v) for v in line.split()] for line in lines[:-1]], dtype=np.int64)
    assert table.shape == (len(X), 3)
    return table[:, 0], table[:, 1], table[:, 2], int(lines[-1].split()[1])


@pytest.mark.parametrize("name", list(CASES))
def test_engine_bit_exact(name: str, tmp_path: Path, engine_objects: list[str]) -> None:
    """Every score and class the C engine computes equals the Python integer reference."""
    case = CASES[name]()
    X = probe_inputs(case)
    expected = families.predict_scores(case.model, X)
    assert expected.min() >= -(2**31) and expected.max() <= INT32_MAX, "the case itself must fit int32"
    scores, classes, again, golden_bad = build_and_run(case, X, tmp_path, engine_objects)
    bad = np.flatnonzero(scores != expected)
    assert bad.size == 0, (f"{bad.size}/{len(X)} scores differ, first at row {bad[0]}: "
                           f"C {scores[bad[0]]} vs Python {expected[bad[0]]}")
    np.testing.assert_array_equal(classes, (expected > case.threshold).astype(np.int64))
    np.testing.assert_array_equal(again, scores)  # tb_model_score == tb_model_predict's score
    assert golden_bad == 0
    if name in BOTH_CLASSES:
        assert 0 < classes.sum() < len(classes), "the probe inputs reached only one class"


def test_extreme_cases_reach_the_int32_limits() -> None:
    """The limit cases really hit INT32_MAX / near INT32_MIN (so the C test covers them)."""
    top = CASES["linear-max-score"]()
    assert families.predict_scores(top.model, np.full((1, N), 255, np.uint8))[0] == INT32_MAX
    low = CASES["linear-min-score"]()
    assert families.predict_scores(low.model, np.full((1, N), 255, np.uint8))[0] == -(2**31)
    big = CASES["mlp-max-hidden"]()
    acc = 127 * 255 * N + int(big.model.b1[0])
    assert acc * big.model.m1 + (1 << (big.model.s1 - 1)) <= INT32_MAX  # no overflow in the C kernel
    assert acc * big.model.m1 > 2**30


def test_fitted_linear_on_near_constant_inputs_fits_int32(tmp_path: Path, engine_objects: list[str]) -> None:
    """A linear model fitted on nearly constant inputs must still be exact in int32 on the device."""
    rng = np.random.default_rng(0)
    X = np.zeros((3000, N), np.uint8)
    X[:, 5] = rng.random(3000) < 0.01
    y = (rng.random(3000) < 0.02).astype(np.int64)
    (_, _, model), = fit_integer_models(FitSpec("linear", (("C", 0.01),)), X, y, seed=0)
    case = Case(model, N)
    probe = probe_inputs(case)
    expected = families.predict_scores(model, probe)
    assert -(2**31) <= model.b2 <= INT32_MAX and expected.min() >= -(2**31) and expected.max() <= INT32_MAX
    scores, _, _, _ = build_and_run(case, probe, tmp_path, engine_objects)
    np.testing.assert_array_equal(scores, expected)


@pytest.mark.parametrize("name", ["trees-depth1", "linear-sign", "mlp-relu-edge"])
def test_only_the_models_kernel_is_needed(name: str, tmp_path: Path, engine_objects: list[str]) -> None:
    """The descriptor names its family's kernel: the engine links without any other family's objects
    (tb_model.c dispatches on no family), and still computes the reference scores."""
    case = CASES[name]()
    kernel = case.model.c_source().kernel  # e.g. tb_trees_score, defined in tb_trees.c
    stem = kernel[:-len("_score")]  # tb_trees
    own = [o for o in engine_objects if Path(o).stem.startswith(stem) or Path(o).stem == "tb_model"]
    assert len(own) < len(engine_objects), "no other family's objects to leave out"
    X = probe_inputs(case, n_random=16)
    scores, _, _, golden_bad = build_and_run(case, X, tmp_path, own)
    np.testing.assert_array_equal(scores, families.predict_scores(case.model, X))
    assert golden_bad == 0
