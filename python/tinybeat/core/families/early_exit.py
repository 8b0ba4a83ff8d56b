"""Tree ensembles encoded for the AVR's lpm: preorder byte streams read by lib/tinybeat/tb_etree.c.

Two layouts of the same integer trees (uint8 thresholds, int8 or int16 leaves):

``complete`` (depth d = 1..8): every tree padded to d levels of internal nodes and stored in
preorder, so the left child of a node always follows it and the right child sits a constant
number of bytes further (that constant depends only on the level). One internal node is
2 bytes ``[feature, threshold]`` (go right when ``x[feature] > threshold``; 255 = always left,
used for padding); a node of the last level is followed by its two leaves. The AVR kernel
unrolls the levels with the right-child offsets as immediates: no offset is ever read.

``sparse`` (any shape, any depth: trees grown with ``max_leaf_nodes`` / ``min_samples_leaf``
stay as scikit-learn grew them and a path stops at its leaf, "early exit"). Every tree is
``[size_lo, size_hi]`` + its root entry; an internal node is 4 bytes
``[feature, threshold + 1, off_lo, off_hi]`` followed by its left subtree, the right subtree
starting ``off`` bytes after the node; a leaf is ``[value, 0]`` (int8) or
``[lo, 0, hi]`` (int16): the second byte 0 marks it, since ``threshold + 1`` is 1..255.

Leaves are stored biased so the device adds unsigned bytes: ``u = v + 128`` (int8) or
``u = v + 32768`` (int16, little endian). ``score = bias + sum of one leaf value per tree``;
the float score (GBT logit, or the RF's mean probability of class 1 minus 0.5) is
``score / score_scale``. Leaves use one power-of-two scale per model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from tinybeat.core.families.sklearn_nodes import forest_readers, hist_gbt_baseline, hist_gbt_readers

LAYOUTS = ("complete", "sparse")
MAX_COMPLETE_DEPTH = 8
ALWAYS_LEFT = 255
CHUNK_LIMIT = 32767  # avr-gcc rejects one object larger than this: bigger models are split by tree

# A normalized tree: ("leaf", value) or ("split", feature, threshold 0..254, left, right).
Node = tuple


@dataclass
class EarlyExitTrees:
    kind: str               # "gbt" or "rf"
    layout: str             # "complete" or "sparse"
    depth: int              # complete: internal levels of every tree (1..8); sparse: deepest path (0..)
    n_trees: int
    data: np.ndarray        # uint8 (n_bytes,): all encoded trees back to back
    tree_sizes: np.ndarray  # int64 (n_trees,): bytes of each encoded tree in `data`
    bias: int               # int32 bias of the integer score
    score_scale: float      # float score = integer score / score_scale
    leaf_bits: int          # 8 or 16
    n_inputs: int = 0       # inputs the trees may read (max feature + 1 at least)

    @property
    def leaf_offset(self) -> int:
        return 128 if self.leaf_bits == 8 else 32768

    # ---- the IntModel protocol (tinybeat.core.families.base) ----

    def predict_scores(self, X_u8: np.ndarray) -> np.ndarray:
        return predict_scores(self, X_u8)

    def flash_bytes(self) -> int:
        return flash_bytes(self)

    def ram_bytes(self) -> int:
        return ram_bytes(self)

    def cycles(self, n_inputs: int, costs) -> int:
        """The target's early-exit cycle constants (costs["etree"]), on an input aligned as the
        target's firmware aligns it (costs["input"]["aligned"]); paths as estimate_cycles without rows."""
        kernel = kernel_of(self, bool(costs["input"]["aligned"]))
        return estimate_cycles(self, None, cost=costs["etree"][f"{kernel}{self.leaf_bits}"])

    def c_source(self):
        from tinybeat.core.families.base import CSource

        arrays, init = c_arrays(self, "tb_model_etree")
        lines = [f"TB_ETREE_MODEL_BYTES({name}) = {{{','.join(str(int(v)) for v in values)}}};"
                 for _, name, values in arrays]
        parts = chunks(self)
        table = [f"TB_ETREE_MODEL_CHUNKS(tb_model_etree_chunks, {len(parts)});",
                 "static void __attribute__((constructor, used)) tb_model_etree_init(void)", "{",
                 *(f"\tTB_ETREE_SET_CHUNK(tb_model_etree_chunks, {k}, tb_model_etree_data{k}, {size}u, {n}u);"
                   for k, (_, size, n) in enumerate(parts)), "}"]
        return CSource(arrays=(), params_type="tb_etree_t", params_init=init, kernel="tb_etree_score",
                       family_code=4, definitions="\n".join([*lines, *table]) + "\n")

    def to_dict(self) -> dict:
        return to_dict(self)

    def describe(self) -> str:
        return f"{self.kind}-{self.n_trees}x{self.depth}-ee{self.leaf_bits}"


# --------------------------------------------------------------------------- scikit-learn -> nodes


def _normalize(get_node: Callable[[int], tuple], node_id: int = 0) -> Node:
    """Nested tuples with integer byte thresholds; splits no byte can take are pruned.

    get_node(i) -> ("leaf", value) or ("split", feature, threshold_float, left_id, right_id),
    go left when x <= threshold_float.
    """
    node = get_node(node_id)
    if node[0] == "leaf":
        return ("leaf", float(node[1]))
    _, feat, thr, left, right = node
    t = int(np.floor(thr))
    if t < 0:
        return _normalize(get_node, right)
    if t >= ALWAYS_LEFT:
        return _normalize(get_node, left)
    return ("split", int(feat), t, _normalize(get_node, left), _normalize(get_node, right))


def _depth(node: Node) -> int:
    return 0 if node[0] == "leaf" else 1 + max(_depth(node[3]), _depth(node[4]))


def _leaves(node: Node) -> list[float]:
    return [node[1]] if node[0] == "leaf" else _leaves(node[3]) + _leaves(node[4])


def _max_feature(node: Node) -> int:
    return -1 if node[0] == "leaf" else max(node[1], _max_feature(node[3]), _max_feature(node[4]))


def _scale_exponent(max_abs: float, limit: int) -> int:
    """Largest s with max_abs * 2**s <= limit."""
    return int(math.floor(math.log2(limit / max_abs))) if max_abs > 0 else 0


# --------------------------------------------------------------------------- encoders


def complete_tree_bytes(depth: int, leaf_bits: int) -> int:
    """Bytes of one complete tree of `depth` internal levels: R(1) = 2 + 2 L, R(k) = 2 + 2 R(k-1)."""
    size = 2 + 2 * (leaf_bits // 8)
    for _ in range(depth - 1):
        size = 2 + 2 * size
    return size


def _leaf_bytes(v: int, leaf_bits: int, sparse: bool) -> list[int]:
    if leaf_bits == 8:
        u = v + 128
        return [u, 0] if sparse else [u]
    u = v + 32768
    return [u & 255, 0, u >> 8] if sparse else [u & 255, u >> 8]


def _encode_complete(node: Node, k: int, q: Callable[[float], int], leaf_bits: int, out: list[int]) -> None:
    if node[0] == "leaf":
        f, t, left, right = 0, ALWAYS_LEFT, node, node  # padding: always left, both sides the same leaf
    else:
        _, f, t, left, right = node
    out += [f, t]
    if k == 1:
        for child in (left, right):
            if child[0] != "leaf":
                raise ValueError("tree deeper than the complete layout's depth")
            out += _leaf_bytes(q(child[1]), leaf_bits, sparse=False)
        return
    _encode_complete(left, k - 1, q, leaf_bits, out)
    _encode_complete(right, k - 1, q, leaf_bits, out)


def _encode_sparse(node: Node, q: Callable[[float], int], leaf_bits: int) -> list[int]:
    if node[0] == "leaf":
        return _leaf_bytes(q(node[1]), leaf_bits, sparse=True)
    _, f, t, left, right = node
    lb = _encode_sparse(left, q, leaf_bits)
    rb = _encode_sparse(right, q, leaf_bits)
    if len(lb) > 0xFFFF:
        raise ValueError("left subtree over 65535 bytes")
    return [f, t + 1, len(lb) & 255, len(lb) >> 8] + lb + rb


def encode(kind: str, trees: list[Node], bias_float: float, leaf_bits: int = 16, layout: str | None = None,
           rf_trees: int | None = None) -> EarlyExitTrees:
    """Quantize and encode normalized trees.

    kind "gbt": score = bias_float + sum of leaves (logit). kind "rf": leaves are probabilities - 0.5 and
    score_scale includes the number of trees (rf_trees), so float score = mean probability - 0.5.
    layout None: "complete" when every tree is at most 8 levels deep, else "sparse".
    """
    if leaf_bits not in (8, 16):
        raise ValueError(f"leaf_bits must be 8 or 16, not {leaf_bits}")
    if not trees:
        raise ValueError("no trees")
    if len(trees) > 255:
        raise ValueError(f"{len(trees)} trees: at most 255")
    depth = max(_depth(t) for t in trees)
    if layout is None:
        layout = "complete" if depth <= MAX_COMPLETE_DEPTH else "sparse"
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
    if layout == "complete":
        if depth > MAX_COMPLETE_DEPTH:
            raise ValueError(f"trees {depth} levels deep: the complete layout takes at most {MAX_COMPLETE_DEPTH}")
        depth = max(depth, 1)
    limit = 127 if leaf_bits == 8 else 32767
    max_leaf = max(abs(v) for t in trees for v in _leaves(t))
    shift = _scale_exponent(max_leaf, limit) if max_leaf > 0 else 0
    if bias_float:
        shift = min(shift, _scale_exponent(abs(bias_float), 2**30))
    scale = 2.0**shift

    def q(v: float) -> int:
        return int(np.clip(np.round(v * scale), -limit, limit))

    blobs = []
    for t in trees:
        if layout == "complete":
            out: list[int] = []
            _encode_complete(t, depth, q, leaf_bits, out)
        else:
            body = _encode_sparse(t, q, leaf_bits)
            if len(body) > CHUNK_LIMIT - 2:
                raise ValueError(f"one tree encodes to {len(body)} B: at most {CHUNK_LIMIT - 2}")
            out = [len(body) & 255, len(body) >> 8] + body
        blobs.append(np.array(out, dtype=np.uint8))
    n_rf = len(trees) if rf_trees is None else rf_trees
    score_scale = scale * n_rf if kind == "rf" else scale
    n_inputs = max(_max_feature(t) for t in trees) + 1
    return EarlyExitTrees(kind, layout, depth, len(trees), np.concatenate(blobs),
                          np.array([b.size for b in blobs], dtype=np.int64), int(round(bias_float * scale)),
                          float(score_scale), leaf_bits, max(n_inputs, 1))


def from_hist_gbt(clf, n_trees: int | None = None, leaf_bits: int = 16, layout: str | None = None) -> EarlyExitTrees:
    """A fitted binary HistGradientBoostingClassifier trained on uint8 inputs (its first n_trees trees)."""
    trees = [_normalize(get_node) for get_node in hist_gbt_readers(clf)[:n_trees]]
    baseline = hist_gbt_baseline(clf)
    return encode("gbt", trees, baseline, leaf_bits, layout)


def from_random_forest(clf, n_trees: int | None = None, leaf_bits: int = 16,
                       layout: str | None = None) -> EarlyExitTrees:
    """A fitted binary RandomForestClassifier (or ExtraTrees) trained on uint8 inputs (first n_trees trees).

    Leaves hold each tree's probability of class 1 minus 0.5; score > 0 means a mean probability above 0.5.
    """
    trees = [_normalize(get_node) for get_node in forest_readers(clf)[:n_trees]]
    return encode("rf", trees, 0.0, leaf_bits, layout)


# --------------------------------------------------------------------------- integer reference


def tree_starts(model: EarlyExitTrees) -> np.ndarray:
    """int64 (n_trees,): byte offset of every tree in model.data."""
    return np.concatenate([[0], np.cumsum(model.tree_sizes)[:-1]]).astype(np.int64)


def _walk(model: EarlyExitTrees, X: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray]:
    """Reach one tree's leaf for every row: (leaf byte position (n,), internal nodes visited (n,))."""
    d = model.data.astype(np.int64)
    rows = np.arange(X.shape[0])
    lb = model.leaf_bits // 8
    if model.layout == "complete":
        pos = np.full(X.shape[0], start, dtype=np.int64)
        for k in range(model.depth, 0, -1):
            right = X[rows, d[pos]] > d[pos + 1]
            pos = pos + 2 + right * (lb if k == 1 else complete_tree_bytes(k - 1, model.leaf_bits))
        return pos, np.full(X.shape[0], model.depth, dtype=np.int64)
    pos = np.full(X.shape[0], start + 2, dtype=np.int64)
    visited = np.zeros(X.shape[0], dtype=np.int64)
    active = d[pos + 1] != 0
    while active.any():
        p = pos[active]
        right = X[rows[active], d[p]] >= d[p + 1]
        pos[active] = p + 4 + right * (d[p + 2] | (d[p + 3] << 8))
        visited[active] += 1
        active = d[pos + 1] != 0
    return pos, visited


def _leaf_values(model: EarlyExitTrees, pos: np.ndarray) -> np.ndarray:
    d = model.data.astype(np.int64)
    if model.leaf_bits == 8:
        return d[pos] - 128
    hi = d[pos + 1] if model.layout == "complete" else d[pos + 2]
    return (d[pos] | (hi << 8)) - 32768


def as_bytes(X_u8: np.ndarray, n_inputs: int) -> np.ndarray:
    """X as uint8 (n_rows, >= n_inputs); ValueError naming the first value that is not a byte."""
    X = np.asarray(X_u8)
    if X.ndim != 2 or X.shape[1] < n_inputs:
        raise ValueError(f"X must be (n_rows, >= {n_inputs}) bytes, got shape {X.shape}")
    if X.dtype != np.uint8:
        bad = ~np.isfinite(X) | (X < 0) | (X > 255) | (X != np.round(X)) if X.dtype.kind == "f" else (X < 0) | (X > 255)
        if bad.any():
            r, c = map(int, np.argwhere(bad)[0])
            raise ValueError(f"X row {r} column {c}: {X[r, c]!r} is not a byte 0..255")
    return X.astype(np.uint8)


def predict_scores(model: EarlyExitTrees, X_u8: np.ndarray) -> np.ndarray:
    """Integer reference: int64 scores (n_rows,) for uint8 inputs X_u8 (n_rows, n_inputs) = the device's."""
    X = as_bytes(X_u8, model.n_inputs)
    score = np.full(X.shape[0], model.bias, dtype=np.int64)
    for start in tree_starts(model):
        pos, _ = _walk(model, X, int(start))
        score += _leaf_values(model, pos)
    return score


def nodes_visited(model: EarlyExitTrees, X_u8: np.ndarray) -> np.ndarray:
    """int64 (n_rows,): internal nodes visited over all trees (the cycle model's path length)."""
    X = as_bytes(X_u8, model.n_inputs)
    total = np.zeros(X.shape[0], dtype=np.int64)
    for start in tree_starts(model):
        total += _walk(model, X, int(start))[1]
    return total


def flash_bytes(model: EarlyExitTrees) -> int:
    """Model data in flash: the encoded trees (the descriptor and chunk table sit in RAM)."""
    return int(model.data.size)


def ram_bytes(model: EarlyExitTrees) -> int:
    """Static RAM on AVR: the descriptor (15 B), its chunk table (6 B a chunk), the fast-kernel record (4 B)."""
    return 15 + 6 * len(chunks(model)) + (4 if model.layout == "complete" else 0)


# --------------------------------------------------------------------------- cost model

# Cycles of one tb_etree_score call on the ATmega2560 (avr-gcc 5.4 -Os, simavr at 16 MHz):
# call + n_trees * tree + (nodes going left) * left + (nodes going right) * right, one line per
# kernel ("fast" / "sparse_fast": unrolled assembly, one chunk, 256-byte aligned input; "loop" /
# "sparse": any input or several chunks), fitted by calibrate_cost() on 1,920 measured calls
# (RandomForests of 4..32 trees, depth 3..8, both leaf sizes, both input alignments; worst error of
# a median 2.5 %). The unrolled complete kernel costs 11 cycles a level going left, 12 going right.
COST = {
    ("fast", 8): {"call": 119.95, "tree": 7.78, "left": 11.02, "right": 11.87},
    ("fast", 16): {"call": 119.6, "tree": 13.04, "left": 10.99, "right": 11.98},
    ("loop", 8): {"call": 441.89, "tree": 17.32, "left": 21.45, "right": 22.39},
    ("loop", 16): {"call": 442.31, "tree": 19.13, "left": 21.49, "right": 22.46},
    ("sparse_fast", 8): {"call": 108.72, "tree": 28.71, "left": 12.07, "right": 23.02},
    ("sparse_fast", 16): {"call": 109.32, "tree": 32.96, "left": 12.01, "right": 23.05},
    ("sparse", 8): {"call": 382.25, "tree": 35.95, "left": 17.0, "right": 26.03},
    ("sparse", 16): {"call": 383.64, "tree": 37.98, "left": 16.98, "right": 26.05},
}


def path_counts(model: EarlyExitTrees, X_u8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int64 (n_rows,) x 2: internal nodes left going left and going right, over all trees."""
    X = as_bytes(X_u8, model.n_inputs)
    d = model.data.astype(np.int64)
    rows = np.arange(X.shape[0])
    lb = model.leaf_bits // 8
    left = np.zeros(X.shape[0], dtype=np.int64)
    right = np.zeros(X.shape[0], dtype=np.int64)
    for start in tree_starts(model):
        if model.layout == "complete":
            pos = np.full(X.shape[0], int(start), dtype=np.int64)
            for k in range(model.depth, 0, -1):
                r = X[rows, d[pos]] > d[pos + 1]
                right += r
                left += ~r
                pos = pos + 2 + r * (lb if k == 1 else complete_tree_bytes(k - 1, model.leaf_bits))
            continue
        pos = np.full(X.shape[0], int(start) + 2, dtype=np.int64)
        active = d[pos + 1] != 0
        while active.any():
            p = pos[active]
            r = X[rows[active], d[p]] >= d[p + 1]
            right[active] += r
            left[active] += ~r
            pos[active] = p + 4 + r * (d[p + 2] | (d[p + 3] << 8))
            active = d[pos + 1] != 0
    return left, right


def kernel_of(model: EarlyExitTrees, aligned: bool = True) -> str:
    """Which AVR kernel runs the model: "fast", "loop", "sparse_fast" or "sparse" (tb_etree.c)."""
    fast = aligned and len(chunks(model)) == 1
    if model.layout == "sparse":
        return "sparse_fast" if fast else "sparse"
    return "fast" if fast else "loop"


def estimate_cycles(model: EarlyExitTrees, X_u8_or_n: np.ndarray | int | None = None, aligned: bool = True,
                    cost: dict | None = None) -> int:
    """Estimated cycles of one tb_etree_score call on the ATmega2560 (median over the given rows).

    With rows X_u8 (n, n_inputs) the nodes visited going left and right are counted on them (the
    cost follows the path: left and right branches differ, and sparse paths stop at their leaves).
    Without rows (an int or None): complete trees take depth levels, half of them right; sparse
    paths are taken model.depth long (an upper bound). aligned: the input is 256-byte aligned.
    Models over 32 KB come in several chunks (the call cost counts once a chunk); the one tree that
    the linker may place across a 64 KB flash boundary runs through the C reference (about 4x a
    tree's cost): not modelled.
    """
    c = cost if cost is not None else COST[(kernel_of(model, aligned), model.leaf_bits)]
    if isinstance(X_u8_or_n, np.ndarray) and X_u8_or_n.ndim == 2 and len(X_u8_or_n):
        left, right = path_counts(model, X_u8_or_n)
        per_row = c["left"] * left + c["right"] * right
        nodes = float(np.median(per_row))
    else:
        levels = model.depth * model.n_trees
        nodes = levels * (c["left"] + c["right"]) / 2
    return int(round(c["call"] * len(chunks(model)) + model.n_trees * c["tree"] + nodes))


def calibrate_cost(runs: list[tuple[EarlyExitTrees, np.ndarray, bool, np.ndarray]]) -> dict:
    """Fit COST from measurements: runs = [(model, X_u8, aligned, measured cycles (n,))].

    Per kernel and leaf size, least squares of cycles on [1, n_trees, left nodes, right nodes]
    over every measured row. Returns {(kernel, leaf_bits): {"call", "tree", "left", "right"}}.
    """
    groups: dict = {}
    for model, X, aligned, cycles in runs:
        left, right = path_counts(model, X)
        key = (kernel_of(model, aligned), model.leaf_bits)
        rows = np.column_stack([np.ones(len(X)), np.full(len(X), model.n_trees), left, right])
        a, b = groups.get(key, (np.zeros((0, 4)), np.zeros(0)))
        groups[key] = (np.vstack([a, rows]), np.concatenate([b, cycles]))
    out = {}
    for key, (a, b) in groups.items():
        coef = np.linalg.lstsq(a, b, rcond=None)[0]
        out[key] = {k: round(float(v), 2) for k, v in zip(("call", "tree", "left", "right"), coef)}
    return out


def needs_far(model: EarlyExitTrees) -> bool:
    """True when the data cannot all sit below 64 KB of flash for sure (over 32 KB: more than one chunk)."""
    return len(chunks(model)) > 1


# --------------------------------------------------------------------------- C


def chunks(model: EarlyExitTrees) -> list[tuple[int, int, int]]:
    """Split the trees into arrays avr-gcc accepts: [(first byte, n_bytes, n_trees)], each <= 32767 B."""
    out, start, size, n = [], 0, 0, 0
    for ts in model.tree_sizes:
        ts = int(ts)
        if size + ts > CHUNK_LIMIT and n:
            out.append((start, size, n))
            start, size, n = start + size, 0, 0
        size, n = size + ts, n + 1
    out.append((start, size, n))
    return out


def c_arrays(model: EarlyExitTrees, prefix: str = "tb_etree_model") -> tuple[list[tuple[str, str, np.ndarray]], str]:
    """The model's byte arrays and the tb_etree_t initializer (brace text).

    Emit every array as ``static TB_ETREE_BYTES(<name>) = {...};`` (tb_etree.h: ``const uint8_t name[]``
    with its C name as assembler name, even in C++, PROGMEM, 2-byte aligned as the unrolled kernel needs,
    `used` since only the assembled chunk table refers to it; not TB_FLASH: it may land anywhere). Then
    c_chunk_table(model, prefix), then ``static const tb_etree_t <prefix> = <init>;``. The text
    compiles as C and as C++ (Arduino sketches). c_source() writes exactly this.
    """
    arrays = [("uint8_t", f"{prefix}_data{k}", model.data[start:start + size])
              for k, (start, size, _) in enumerate(chunks(model))]
    layout = "TB_ETREE_COMPLETE" if model.layout == "complete" else "TB_ETREE_SPARSE"
    fast = (f"TB_ETREE_FAST({model.leaf_bits}, {model.depth})" if model.layout == "complete"
            else f"TB_ETREE_FAST_SPARSE({model.leaf_bits})")
    init = (f"{{{prefix}_chunks, {len(arrays)}u, {model.n_trees}u, {layout}, {model.depth}u, "
            f"{model.leaf_bits}u, {model.n_inputs}u, {int(model.bias)}L, {fast}}}")
    return arrays, init


def c_chunk_table(model: EarlyExitTrees, prefix: str = "tb_etree_model") -> str:
    """``TB_ETREE_CHUNK_TABLE(<prefix>_chunks, ...)``: the chunks' 24-bit addresses, sizes and tree counts
    (RAM, 6 B a chunk on AVR)."""
    entries = " ".join(f"TB_ETREE_CHUNK({prefix}_data{k}, {size}, {n})" for k, (_, size, n) in enumerate(chunks(model)))
    return f"TB_ETREE_CHUNK_TABLE({prefix}_chunks, {entries})"


def c_source(model: EarlyExitTrees, prefix: str = "tb_etree_model") -> str:
    """Complete C/C++ text: the arrays, the chunk table and ``static const tb_etree_t <prefix>``."""
    arrays, init = c_arrays(model, prefix)
    lines = ['#include "tb_etree.h"', ""]
    for ctype, name, arr in arrays:
        body = ",".join(str(int(v)) for v in arr)
        lines.append(f"static TB_ETREE_BYTES({name}) = {{{body}}};")
    lines += [c_chunk_table(model, prefix), f"static const tb_etree_t {prefix} = {init};", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- JSON


def to_dict(model: EarlyExitTrees) -> dict:
    """JSON-ready dict (exact integers)."""
    return {"family": "early_exit", "kind": model.kind, "layout": model.layout, "depth": model.depth,
            "n_trees": model.n_trees, "data": model.data.tolist(), "tree_sizes": model.tree_sizes.tolist(),
            "bias": int(model.bias), "score_scale": model.score_scale, "leaf_bits": model.leaf_bits,
            "n_inputs": model.n_inputs}


def from_dict(d: dict) -> EarlyExitTrees:
    """Inverse of to_dict."""
    return EarlyExitTrees(d["kind"], d["layout"], int(d["depth"]), int(d["n_trees"]),
                          np.array(d["data"], dtype=np.uint8), np.array(d["tree_sizes"], dtype=np.int64),
                          int(d["bias"]), float(d["score_scale"]), int(d["leaf_bits"]), int(d["n_inputs"]))
