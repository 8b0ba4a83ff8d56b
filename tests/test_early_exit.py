"""Preorder tree ensembles (tinybeat.core.families.early_exit, lib/tinybeat/tb_etree.c).

- the integer reference follows scikit-learn within the leaf quantization, and the complete
  and sparse layouts of the same trees give identical scores;
- the C kernels compiled by the host gcc (ASan/UBSan) equal the reference;
- on the simulated ATmega2560: the unrolled and loop kernels equal the reference, a model
  whose data lies above 64 KB of flash still scores exactly, and the cycle model is within
  10 % of the measured median;
- test/common/test_etree/sk_fixture.h (the scikit-learn models of the on-target suite) agrees
  with the reference. Regenerate it with `python tests/test_early_exit.py --write-fixture`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from projkit import single_threaded
from tinybeat.core.families import early_exit as ee

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "test" / "common" / "test_etree" / "sk_fixture.h"
VBOARD = ROOT / ".platformio" / "packages" / "tool-simavr" / "bin" / "avr-vboard"
HAVE_AVR = shutil.which("avr-gcc") is not None and VBOARD.is_file()
avr = pytest.mark.skipif(not HAVE_AVR, reason="avr-gcc or avr-vboard (./run.sh setup) missing")


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    with single_threaded():
        yield


def synthetic(n_rows: int = 600, n_features: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 rows (n_rows, n_features) and a noisy non-linear 0/1 target."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(n_rows, n_features), dtype=np.uint8)
    Xi = X.astype(int)
    y = (((Xi[:, 0] + Xi[:, 1]) > 255) ^ (Xi[:, 5] > 200) ^ (rng.random(n_rows) < 0.1)).astype(int)
    return X, y


def edge_rows(X: np.ndarray) -> np.ndarray:
    """All-0, all-255 and rows sitting on/next to every byte threshold value."""
    n = X.shape[1]
    return np.vstack([np.zeros((1, n), np.uint8), np.full((1, n), 255, np.uint8),
                      np.tile(np.arange(0, 256, 17, dtype=np.uint8)[:, None], (1, n)), X])


def fit_rf(X, y, n_trees=5, **kw):
    from sklearn.ensemble import RandomForestClassifier

    params = dict(max_depth=6, min_samples_leaf=3, max_features="sqrt", random_state=0)
    params.update(kw)
    return RandomForestClassifier(n_estimators=n_trees, n_jobs=1, **params).fit(X.astype(float), y)


def fit_gbt(X, y, n_trees=6, **kw):
    from sklearn.ensemble import HistGradientBoostingClassifier

    params = dict(max_leaf_nodes=10, learning_rate=0.3, random_state=0)
    params.update(kw)
    return HistGradientBoostingClassifier(max_iter=n_trees, early_stopping=False, **params).fit(X, y)


# --------------------------------------------------------------------------- Python reference


@pytest.mark.parametrize("leaf_bits", [8, 16])
def test_rf_reference_follows_sklearn_and_layouts_agree(leaf_bits: int) -> None:
    X, y = synthetic()
    clf = fit_rf(X, y)
    Xe = edge_rows(X)
    comp = ee.from_random_forest(clf, leaf_bits=leaf_bits, layout="complete")
    sparse = ee.from_random_forest(clf, leaf_bits=leaf_bits, layout="sparse")
    assert comp.layout == "complete" and sparse.layout == "sparse" and comp.depth <= 6
    s = ee.predict_scores(comp, Xe)
    assert np.array_equal(s, ee.predict_scores(sparse, Xe))
    p = clf.predict_proba(Xe.astype(float))[:, 1] - 0.5
    # each leaf is rounded to 1/2^shift: the mean of n leaves is off by at most half a step
    step = comp.n_trees / comp.score_scale
    assert np.max(np.abs(s / comp.score_scale - p)) <= 0.5 * step + 1e-12
    # sparse paths stop at their leaves: fewer nodes visited than the padded complete trees
    assert ee.nodes_visited(sparse, Xe).mean() <= ee.nodes_visited(comp, Xe).mean()


def test_gbt_reference_follows_sklearn_deep_trees_go_sparse() -> None:
    X, y = synthetic(seed=1)
    clf = fit_gbt(X, y, max_leaf_nodes=24, min_samples_leaf=4)  # grown leaf-wise: deep, uneven trees
    model = ee.from_hist_gbt(clf, leaf_bits=16)
    Xe = edge_rows(X)
    s = ee.predict_scores(model, Xe)
    err = np.abs(s / model.score_scale - clf.decision_function(Xe))
    assert np.max(err) <= (model.n_trees + 1) * 0.5 / model.score_scale + 1e-9
    assert model.depth >= 1
    if model.depth > ee.MAX_COMPLETE_DEPTH:
        assert model.layout == "sparse"
        with pytest.raises(ValueError, match="at most 8"):
            ee.from_hist_gbt(clf, layout="complete")
    first = ee.from_hist_gbt(clf, n_trees=2, leaf_bits=16, layout="sparse")
    assert first.n_trees == 2


def test_int8_leaves_use_a_power_of_two_scale_and_fit_a_byte() -> None:
    X, y = synthetic()
    model = ee.from_random_forest(fit_rf(X, y), leaf_bits=8, layout="complete")
    scale = model.score_scale / model.n_trees
    assert scale == 2.0 ** round(np.log2(scale))
    leaves = ee._leaf_values(model, np.arange(model.data.size - 1))  # every byte read as a leaf: in range
    assert leaves.min() >= -128 and leaves.max() <= 127
    assert ee.flash_bytes(model) == model.n_trees * ee.complete_tree_bytes(model.depth, 8)


def test_dict_roundtrip_and_bad_parameters() -> None:
    X, y = synthetic()
    clf = fit_rf(X, y, n_trees=3)
    for layout in ee.LAYOUTS:
        m = ee.from_random_forest(clf, leaf_bits=8, layout=layout)
        back = ee.from_dict(ee.to_dict(m))
        assert np.array_equal(ee.predict_scores(back, X), ee.predict_scores(m, X))
        assert back.layout == layout and back.n_inputs == m.n_inputs
    with pytest.raises(ValueError, match="leaf_bits"):
        ee.from_random_forest(clf, leaf_bits=12)
    with pytest.raises(ValueError, match="layout"):
        ee.from_random_forest(clf, layout="diagonal")
    model = ee.from_random_forest(clf)
    with pytest.raises(ValueError, match="bytes"):
        ee.predict_scores(model, X[:, :2])
    bad = X.astype(float)
    bad[3, 4] = 256.0
    with pytest.raises(ValueError, match="row 3 column 4"):
        ee.predict_scores(model, bad)
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="row 3 column 4"):
        ee.predict_scores(model, bad)
    three = fit_rf(X, y % 2 + (X[:, 0] > 200), n_trees=2)  # classes 0, 1, 2
    with pytest.raises(ValueError, match="binary"):
        ee.from_random_forest(three)


def test_chunks_split_big_models_by_whole_trees() -> None:
    X, y = synthetic()
    model = ee.from_random_forest(fit_rf(X, y, n_trees=100, max_depth=8, min_samples_leaf=1),
                                  leaf_bits=16, layout="complete")
    chunks = ee.chunks(model)
    assert model.data.size > 64 * 1024 and len(chunks) >= 3
    assert all(size <= ee.CHUNK_LIMIT for _, size, _ in chunks)
    assert sum(n for _, _, n in chunks) == model.n_trees
    assert sum(size for _, size, _ in chunks) == model.data.size


# --------------------------------------------------------------------------- C on the host

HOST_DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tb_etree.h"
#include "etree_model.c"
#include "rows.h"

int main(void)
{
	if (tb_etree_check(&tb_etree_model, N_INPUTS) != TB_ETREE_OK)
		return 3;
	uint8_t *x = malloc(N_INPUTS); /* exactly n_inputs bytes: ASan flags any read past them */
	for (unsigned k = 0; k < N_ROWS; k++) {
		memcpy(x, rows[k], N_INPUTS);
		printf("%ld %ld\n", (long)tb_etree_score(&tb_etree_model, x), (long)tb_etree_score_ref(&tb_etree_model, x));
	}
	free(x);
	return 0;
}
"""


def run_host(model: ee.EarlyExitTrees, X: np.ndarray, tmp_path: Path) -> np.ndarray:
    (tmp_path / "etree_model.c").write_text(ee.c_source(model))
    rows = ",\n".join("{" + ",".join(map(str, r)) + "}" for r in X)
    (tmp_path / "rows.h").write_text(f"#define N_ROWS {len(X)}u\n#define N_INPUTS {X.shape[1]}u\n"
                                     f"static const uint8_t rows[][{X.shape[1]}] = {{{rows}}};\n")
    (tmp_path / "main.c").write_text(HOST_DRIVER)
    exe = tmp_path / "etree"
    subprocess.run(["gcc", "-std=gnu11", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-fsanitize=address,undefined",
                    "-fno-sanitize-recover=all", "-I", str(tmp_path), "-I", str(ROOT / "lib/tinybeat"),
                    str(tmp_path / "main.c"), str(ROOT / "lib/tinybeat/tb_etree.c"), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    return np.array([[int(v) for v in line.split()] for line in out.splitlines()], dtype=np.int64)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no host gcc")
@pytest.mark.parametrize("layout,leaf_bits", [("complete", 8), ("complete", 16), ("sparse", 8), ("sparse", 16)])
def test_host_c_equals_reference(layout: str, leaf_bits: int, tmp_path: Path) -> None:
    X, y = synthetic()
    Xe = edge_rows(X[:150])
    for clf, conv in ((fit_rf(X, y), ee.from_random_forest), (fit_gbt(X, y), ee.from_hist_gbt)):
        model = conv(clf, leaf_bits=leaf_bits, layout=layout)
        got = run_host(model, Xe, tmp_path)
        want = ee.predict_scores(model, Xe)
        assert np.array_equal(got[:, 0], want) and np.array_equal(got[:, 1], want)


# --------------------------------------------------------------------------- the on-target fixture


def fixture_models() -> tuple[list[tuple[str, ee.EarlyExitTrees]], np.ndarray]:
    X, y = synthetic(n_rows=400, n_features=10, seed=3)
    rf = fit_rf(X, y, n_trees=4, max_depth=5)
    gbt = fit_gbt(X, y, n_trees=4, max_leaf_nodes=8, max_depth=4)
    models = [("rf_c8", ee.from_random_forest(rf, leaf_bits=8, layout="complete")),
              ("rf_s16", ee.from_random_forest(rf, leaf_bits=16, layout="sparse")),
              ("gbt_c16", ee.from_hist_gbt(gbt, leaf_bits=16, layout="complete")),
              ("gbt_s8", ee.from_hist_gbt(gbt, leaf_bits=8, layout="sparse"))]
    return models, edge_rows(X[:12])[:24]


def fixture_header() -> str:
    models, X = fixture_models()
    out = ["/* Generated by `python tests/test_early_exit.py --write-fixture`: scikit-learn models on synthetic",
           " * bytes (RandomForest and HistGradientBoosting, both layouts, 8- and 16-bit leaves), inputs and",
           " * the Python reference's scores. tests/test_early_exit.py checks it stays consistent. */",
           "#ifndef SK_FIXTURE_H", "#define SK_FIXTURE_H", '#include "tb_etree.h"',
           f"#define TB_SK_N_MODELS {len(models)}u", f"#define TB_SK_N_ROWS {len(X)}u",
           f"#define TB_SK_N_INPUTS {X.shape[1]}u"]
    scores = []
    for name, m in models:
        out.append(ee.c_source(m, prefix=f"tb_sk_{name}").replace('#include "tb_etree.h"\n', "").strip())
        scores.append("{" + ",".join(f"{int(s)}L" for s in ee.predict_scores(m, X)) + "}")
    out.append("static const tb_etree_byte_t tb_sk_inputs[] TB_ETREE_DATA = {"
               + ",".join(str(int(v)) for v in X.ravel()) + "};")
    out.append(f"static const int32_t tb_sk_scores[TB_SK_N_MODELS][TB_SK_N_ROWS] TB_FLASH = {{{', '.join(scores)}}};")
    out.append("#define TB_SK_MODELS {" + ", ".join(f"&tb_sk_{name}" for name, _ in models) + "}")
    out.append("#endif")
    return "\n".join(out) + "\n"


def parse_fixture(text: str) -> tuple[list[ee.EarlyExitTrees], np.ndarray, np.ndarray]:
    """Rebuild the fixture's models from its own bytes (no refit) with the scores it claims."""
    n_inputs = int(re.search(r"TB_SK_N_INPUTS (\d+)u", text).group(1))
    models = []
    for name in re.findall(r"static const tb_etree_t (tb_sk_\w+) = ", text):
        data = np.array([int(v) for v in re.search(rf"TB_ETREE_BYTES\({name}_data0\) = \{{([^}}]*)\}}", text)
                         .group(1).split(",")], dtype=np.uint8)
        init = re.search(rf"static const tb_etree_t {name} = \{{(.*)\}};", text).group(1).split(", ")
        layout = "complete" if init[3] == "TB_ETREE_COMPLETE" else "sparse"
        depth, leaf_bits, n_trees = int(init[4].rstrip("u")), int(init[5].rstrip("u")), int(init[2].rstrip("u"))
        if layout == "complete":
            sizes = [ee.complete_tree_bytes(depth, leaf_bits)] * n_trees
        else:
            sizes, pos = [], 0
            while pos < data.size:
                sizes.append(2 + int(data[pos]) + 256 * int(data[pos + 1]))
                pos += sizes[-1]
        models.append(ee.EarlyExitTrees("rf", layout, depth, n_trees, data, np.array(sizes), int(init[7].rstrip("L")),
                                        1.0, leaf_bits, int(init[6].rstrip("u"))))
    X = np.array([int(v) for v in re.search(r"tb_sk_inputs\[\] TB_ETREE_DATA = \{([^}]*)\}", text).group(1)
                  .split(",")], dtype=np.uint8).reshape(-1, n_inputs)
    scores = np.array([[int(v.rstrip("L")) for v in row.split(",")] for row in
                       re.findall(r"\{(-?\d+L(?:,-?\d+L)*)\}", text.split("tb_sk_scores")[1])], dtype=np.int64)
    return models, X, scores


def test_on_target_fixture_agrees_with_the_reference() -> None:
    models, X, scores = parse_fixture(FIXTURE.read_text())
    assert len(models) == 4 and scores.shape == (4, len(X))
    assert {m.layout for m in models} == {"complete", "sparse"} and {m.leaf_bits for m in models} == {8, 16}
    for m, want in zip(models, scores):
        assert np.array_equal(ee.predict_scores(m, X), want)


# --------------------------------------------------------------------------- the simulated ATmega2560


@avr
@pytest.mark.parametrize("layout,leaf_bits", [("complete", 8), ("complete", 16), ("sparse", 8)])
def test_avr_kernels_equal_reference_and_cost_model(layout: str, leaf_bits: int) -> None:
    X, y = synthetic()
    model = ee.from_random_forest(fit_rf(X, y, n_trees=9, max_depth=7), leaf_bits=leaf_bits, layout=layout)
    Xe = edge_rows(X[:40])
    want = ee.predict_scores(model, Xe)
    for offset in (0, 1):  # page-aligned (unrolled kernel) and not (loop kernel)
        run = ee.measure_avr(ROOT, model, Xe, offset=offset)
        assert run.check == 0
        assert np.array_equal(run.scores, want) and np.array_equal(run.ref_scores, want)
        est = ee.estimate_cycles(model, Xe, aligned=offset == 0)
        assert abs(est - np.median(run.cycles)) <= 0.10 * np.median(run.cycles), (offset, est, np.median(run.cycles))


FILLER = """
/* 3 x 30 000 B of flash before the model: its arrays land above 64 KB */
#include <avr/pgmspace.h>
const uint8_t tb_filler0[30000] PROGMEM = {1};
const uint8_t tb_filler1[30000] PROGMEM = {2};
const uint8_t tb_filler2[30000] PROGMEM = {3};
const uint8_t *const tb_etree_bench_keep[3] = {tb_filler0, tb_filler1, tb_filler2};
"""


@avr
@pytest.mark.parametrize("layout,leaf_bits", [("complete", 8), ("sparse", 16)])
def test_avr_model_above_64k_scores_exactly(layout: str, leaf_bits: int) -> None:
    X, y = synthetic()
    model = ee.from_random_forest(fit_rf(X, y, n_trees=6), leaf_bits=leaf_bits, layout=layout)
    Xe = edge_rows(X[:10])
    want = ee.predict_scores(model, Xe)
    for offset in (0, 1):
        run = ee.measure_avr(ROOT, model, Xe, offset=offset, extra_c=FILLER)
        addr = run.symbols["tb_etree_model_data0"][0]
        assert addr >= 0x10000, f"the model was placed at {addr:#x}: the test needs it above 64 KB"
        assert run.check == 0 and np.array_equal(run.scores, want) and np.array_equal(run.ref_scores, want)


@avr
@pytest.mark.parametrize("layout", ["complete", "sparse"])
def test_avr_model_larger_than_64k_scores_exactly(layout: str) -> None:
    """Over 64 KB of trees in several arrays, one straddling a 64 KB boundary: every score exact."""
    X, y = synthetic()
    deep = layout == "sparse"  # sparse trees are smaller: grow them unbounded (about 20 levels)
    clf = fit_rf(X, y, n_trees=160 if deep else 100, max_depth=None if deep else 8, min_samples_leaf=1)
    model = ee.from_random_forest(clf, leaf_bits=16, layout=layout)
    assert model.data.size > 64 * 1024 and (model.depth > 8) == deep
    Xe = edge_rows(X[:4])
    want = ee.predict_scores(model, Xe)
    for offset in (0, 1):
        run = ee.measure_avr(ROOT, model, Xe, offset=offset)
        spans = list(run.symbols.values())
        assert max(a + s for a, s in spans) > 0x10000
        assert any(a >> 16 != (a + s - 1) >> 16 for a, s in spans), "no array straddles 64 KB: the split is untested"
        assert run.check == 0 and np.array_equal(run.scores, want) and np.array_equal(run.ref_scores, want)


CPP_MAIN = r"""
#include <avr/pgmspace.h>
#include <string.h>
#include "microtest.h"
#include "tb_etree.h"
#include "model.h"
#include "rows.h"
static uint8_t x[N_INPUTS + 1] __attribute__((aligned(256)));
int main()
{
	mt_begin();
	for (unsigned off = 0; off < 2; off++) {
		for (unsigned k = 0; k < N_ROWS; k++) {
			memcpy_P(x + off, rows[k], N_INPUTS);
			mt_print("score ");
			mt_print_int(tb_etree_score(&tb_etree_model, x + off));
			mt_print("\n");
		}
	}
	return mt_end();
}
"""


@avr
@pytest.mark.parametrize("layout", ["complete", "sparse"])
def test_avr_model_source_compiles_as_cpp(layout: str, tmp_path: Path) -> None:
    """Arduino sketches include the model header from C++: the generated text compiles there and scores right."""
    X, y = synthetic()
    model = ee.from_random_forest(fit_rf(X, y, n_trees=7), leaf_bits=8, layout=layout)
    Xe = edge_rows(X[:12])
    (tmp_path / "model.h").write_text(ee.c_source(model))
    rows = ",\n".join("{" + ",".join(map(str, r)) + "}" for r in Xe)
    (tmp_path / "rows.h").write_text(f"#define N_ROWS {len(Xe)}u\n#define N_INPUTS {Xe.shape[1]}u\n"
                                     f"static const uint8_t rows[][{Xe.shape[1]}] PROGMEM = {{{rows}}};\n")
    (tmp_path / "main.cpp").write_text(CPP_MAIN)
    lib = ROOT / "lib"
    inc = ["-I", str(tmp_path), "-I", str(lib / "tinybeat"), "-I", str(lib / "microtest")]
    mcu = ["-mmcu=atmega2560", "-DF_CPU=16000000L", "-Os", "-Wall", "-Wextra", "-ffunction-sections", "-fdata-sections"]
    objs = []
    for src, cc in ((tmp_path / "main.cpp", "avr-g++"), (lib / "tinybeat/tb_etree.c", "avr-gcc"),
                    (lib / "microtest/microtest.c", "avr-gcc"), (lib / "microtest/microtest_port.c", "avr-gcc")):
        obj = tmp_path / (src.stem + ".o")
        std = ["-std=gnu++11"] if cc == "avr-g++" else ["-std=gnu11"]
        subprocess.run([cc, *mcu, *std, "-Werror", *inc, "-c", str(src), "-o", str(obj)], check=True)
        objs.append(str(obj))
    elf = tmp_path / "cpp.elf"
    subprocess.run(["avr-gcc", "-mmcu=atmega2560", *objs, *ee.LDFLAGS, "-o", str(elf)], check=True)
    run = subprocess.run([str(VBOARD), "--mcu", "atmega2560", "--freq", "16000000", "--timeout", "30", str(elf)],
                         capture_output=True, text=True, stdin=subprocess.DEVNULL)
    got = np.array([int(v) for v in re.findall(r"score (-?\d+)", run.stdout)], dtype=np.int64)
    want = ee.predict_scores(model, Xe)
    assert np.array_equal(got, np.concatenate([want, want])), run.stderr


NEAR_MAIN = r"""
#include "microtest.h"
#include "tb_flash.h"
#include "tinybeat.h"
/* one complete tree of depth 1: x[0] > 9 ? 7 : -3, after FILL bytes of other TB_FLASH data */
static const uint8_t fill0[FILL] TB_FLASH = {1};
static const uint8_t fill1[FILL] TB_FLASH = {2};
static const uint8_t fill2[FILL] TB_FLASH = {3};
static const uint8_t nodes[2] TB_FLASH = {0, 9};
static const int16_t leaves[2] TB_FLASH = {-3, 7};
const uint8_t *volatile keep[3];
int main(void)
{
	static uint8_t x[1] = {10};
	const tb_trees_t trees = {1, 1, nodes, leaves, 100};
	keep[0] = fill0;
	keep[1] = fill1;
	keep[2] = fill2;
	mt_begin();
	mt_print("score ");
	mt_print_int(tb_trees_score(&trees, x));
	mt_print(" ref ");
	mt_print_int(tb_trees_score_ref(&trees, x));
	mt_print("\n");
	return mt_end();
}
"""


@avr
@pytest.mark.parametrize("fill,refused", [(100, False), (25000, True)])
def test_near_flash_kernel_refuses_data_past_64k(fill: int, refused: bool, tmp_path: Path) -> None:
    """tb_trees (16-bit pointers): 75 KB of TB_FLASH data before the model is refused, never misread."""
    (tmp_path / "main.c").write_text(NEAR_MAIN)
    lib = ROOT / "lib"
    elf = tmp_path / "near.elf"
    subprocess.run(["avr-gcc", "-mmcu=atmega2560", "-DF_CPU=16000000L", f"-DFILL={fill}", *ee.CFLAGS,
                    "-I", str(lib / "tinybeat"), "-I", str(lib / "microtest"), str(tmp_path / "main.c"),
                    str(lib / "tinybeat/tb_trees.c"), str(lib / "microtest/microtest.c"),
                    str(lib / "microtest/microtest_port.c"), *ee.LDFLAGS, "-o", str(elf)], check=True)
    run = subprocess.run([str(VBOARD), "--mcu", "atmega2560", "--freq", "16000000", "--timeout", "20", str(elf)],
                         capture_output=True, text=True, stdin=subprocess.DEVNULL)
    got = re.search(r"score (-?\d+) ref (-?\d+)", run.stdout)
    assert got, run.stdout + run.stderr
    error = ee.near_flash_error(elf)
    if refused:
        assert got.groups() == (str(-2**31), str(-2**31))
        assert error and "beyond the first 64 KB" in error and "fill" in error, error
    else:
        assert got.groups() == ("107", "107") and error is None


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-fixture"]:
        FIXTURE.write_text(fixture_header())
        print(f"wrote {FIXTURE}")
    else:
        sys.exit("usage: python tests/test_early_exit.py --write-fixture")
