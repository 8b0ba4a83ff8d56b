#!/usr/bin/env python3
"""tinybeat against emlearn on the same data and the same simulated board.

    .venv/bin/python bench/run_bench.py     # writes bench/results.md, results.json, scaling.png, nodes.png

See bench/README.md. Not part of the default test run (it builds and simulates
about 150 firmwares: a few minutes on 2 cores). The work is in bench/tinybeat_bench/.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(PROJECT / "python"))
sys.path.insert(0, str(HERE))

from tinybeat.pipeline import config, selection  # noqa: E402
from tinybeat.pipeline.artifacts import Trained  # noqa: E402
from tinybeat.targets import load_target  # noqa: E402
from tinybeat.util.atomic import write_bytes_atomic  # noqa: E402

from tinybeat_bench import data as bd, sweep  # noqa: E402
from tinybeat_bench.emlearn_adapter import EMPTY_APP_HEADER, Emlearn  # noqa: E402
from tinybeat_bench.markdown import markdown  # noqa: E402
from tinybeat_bench.ours import Ours  # noqa: E402
from tinybeat_bench.plots import per_node_costs, plot_nodes, plot_scaling  # noqa: E402
from tinybeat_bench.report import Report, RunInfo, json_text  # noqa: E402
from tinybeat_bench.rows import EnergyModel, FitRule  # noqa: E402
from tinybeat_bench.toolchain import Toolchain  # noqa: E402
from tinybeat_bench.verdict import add_ratios, verdict  # noqa: E402

T0 = time.monotonic()
_lock = threading.Lock()


def log(msg: str) -> None:
    with _lock:
        print(f"[{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", default="data/mitbih_train.csv.gz")
    ap.add_argument("--test", default="data/mitbih_test.csv.gz")
    ap.add_argument("--target", default="target")
    ap.add_argument("--group", default="record")
    ap.add_argument("--trained", default="model/trained.json")
    ap.add_argument("--board", default="megaatmega2560", help="board id (its manifest gives MCU, clock, flash, RAM)")
    ap.add_argument("--beats", type=int, default=200, help="test beats run on the simulated MCU per model")
    ap.add_argument("--scaling-beats", type=int, default=50, help="beats per point of the scaling sweep")
    ap.add_argument("--front-points", type=int, default=4, help="other Pareto-front models besides the chosen")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=None, help="default: the search seed in model/config.yaml")
    ap.add_argument("--quick", action="store_true",
                    help="fewer models and no fit boundaries, to iterate on the bench (not the reference numbers)")
    ap.add_argument("--out", default=str(HERE))
    return ap.parse_args(argv)


def gbt_entry(trained: dict, chosen: dict) -> dict | None:
    """The boosted model of the gbt section: the chosen one if boosted, else the best boosted front entry."""
    if chosen["family"] == "gbt":
        return chosen
    return max((e for e in trained["front"] if e["family"] == "gbt"), key=lambda e: e["cv_metric"], default=None)


def emlearn_on_gbt(em: Emlearn, hgb) -> str:
    """What emlearn.convert says to a boosted model (an error, as of emlearn 0.23.2)."""
    if hgb is None:
        return "not tried (no boosted model)"
    try:
        em.emlearn.convert(hgb, method="inline")
    except Exception as exc:  # emlearn raises ValueError for an unknown model type
        return f"{type(exc).__name__}: {exc}"
    return "converted (emlearn now supports boosted trees: add its row)"


def require_emlearn() -> str | None:
    """None when emlearn imports, else the one-line error naming how to install the bench's requirements."""
    try:
        import emlearn  # noqa: F401
    except ImportError as exc:
        return (f"error: the bench needs emlearn ({exc}): install its requirements with "
                "`.venv/bin/pip install -r bench/requirements.txt`")
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    missing = require_emlearn()
    if missing:  # before any work: the bench compares tinybeat with emlearn on every row
        print(missing, file=sys.stderr)
        return 2
    out_dir = Path(args.out)
    given = sys.argv[1:] if argv is None else argv
    command = ".venv/bin/python bench/run_bench.py" + (" " + shlex.join(given) if given else "")
    started = datetime.datetime.now().astimezone()

    cfg = config.load_config(PROJECT / "model/config.yaml")
    target = load_target(PROJECT, args.board)
    board = target.board
    seed = cfg.search.seed if args.seed is None else args.seed
    trained_path = PROJECT / args.trained
    trained_text = trained_path.read_text()
    trained = json.loads(trained_text)
    chosen = selection.select_for_board(Trained.from_dict(trained), board, cfg).to_dict()
    log(f"trained.json {trained['fingerprint'][:16]}: chosen for {board.id} ({board.mcu} at {board.f_cpu} Hz) = "
        f"{chosen['name']}")

    d = bd.load_data(PROJECT, cfg, args.train, args.test, args.target, args.group)
    log(f"data: train {len(d.Xtr)} beats, test {len(d.Xte)} beats x {d.n_inputs} samples")
    idx = bd.evenly_spaced(len(d.Xte), args.beats)
    scaling_idx = idx[bd.evenly_spaced(len(idx), args.scaling_beats)]

    tools = Toolchain(PROJECT, board)
    empty = tools.size_probe(EMPTY_APP_HEADER, d.n_inputs)
    if not empty.ok:
        raise RuntimeError(f"the size probe does not build: {empty.log}")
    rule = FitRule(board, cfg.budget.flash_reserve, cfg.budget.ram_reserve)
    energy = EnergyModel(board.mcu, board.f_cpu)
    ours = Ours(tools, target, rule, energy, empty, d.Xte, d.yte, log)
    em = Emlearn(tools, rule, energy, empty, d.Xte, d.yte, log)
    log(f"emlearn {em.version}; empty app: flash {empty.flash} B, static RAM {empty.static_ram} B")

    log("finding the largest emlearn float MLP whose weights fit the SRAM (links only) ...")
    boundary = em.mlp_boundary(d.n_inputs, cfg.budget.ram_reserve)
    hmax = boundary["largest_fitting_hidden"]
    front_mlps = {int(e["params"]["hidden"]) for e in trained["front"] if e["family"] == "mlp"}
    hidden = sorted(({2, hmax, hmax + 1} if args.quick else {2, 4, hmax, hmax + 1} | front_mlps) - {0})
    same = ((chosen["model"]["depth"], len(chosen["model"]["features"])) if chosen["family"] == "rf"
            else sweep.DEFAULT_SAME)
    plan = sweep.Plan(seed, chosen, bd.pick_front_points(trained["front"], chosen["name"], args.front_points),
                      same, gbt_entry(trained, chosen), args.quick)
    log("fitting scikit-learn models for the emlearn peers and the scaling sweep ...")
    fits = sweep.fit_all(plan, d, hidden, log)

    jobs = (sweep.main_jobs(plan, fits, ours, em, d, idx) + sweep.same_jobs(plan, fits, ours, idx)
            + sweep.gbt_jobs(plan, fits, ours, d, idx) + sweep.scaling_jobs(plan, fits, ours, em, d, scaling_idx))
    log(f"building and simulating {len(jobs)} firmwares on {args.jobs} workers ...")
    rows = sweep.run_jobs(jobs, args.jobs)
    main_rows, scaling = rows.get("main", []), rows.get("scaling", [])
    cd, cn = same
    same_rows = rows.get("same", []) + [r for r in main_rows if r.name.startswith(f"emlearn RF d{cd}x{cn} ")]

    ours_row = next(r for r in main_rows if r.role == "chosen")
    peers = sorted((r for r in main_rows if r.engine != "tinybeat"),
                   key=lambda r: (r.name.split(" ")[1], r.flash_total or 1e12))
    ordered = [ours_row] + [r for r in main_rows if r.engine == "tinybeat" and r is not ours_row] + peers
    add_ratios(ordered, ours_row)
    h_rows = {r.hidden: r for r in peers if r.hidden}
    if hmax in h_rows:
        boundary["stack_measured_at_largest"] = h_rows[hmax].stack
        boundary["largest_confirmed_on_device"] = h_rows[hmax].fits_board

    limits: dict = {}
    if not args.quick:
        limits = sweep.fit_limits(fits, ours, em, scaling, args.jobs, log)

    elapsed = time.monotonic() - T0
    info = RunInfo(
        command=command, date=started.isoformat(timespec="seconds"), elapsed_s=round(elapsed, 1),
        host={"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version()},
        board=board, emlearn_version=em.version, avr_gcc=tools.avr_gcc_version(), avr_gcc_flags=tools.flags,
        data={"train": args.train, "test": args.test, "train_beats": len(d.Xtr), "test_beats": len(d.Xte),
              "test_abnormal": int(d.yte.sum()), "beats_on_device": len(idx), "beats_on_device_scaling": len(scaling_idx)},
        trained={"fingerprint": trained["fingerprint"], "chosen": chosen["name"],
                 "changed_during_run": trained_path.read_text() != trained_text},
        seed=seed, n_inputs=d.n_inputs,
        energy={"supply_v": energy.supply_v, "icc_ma": energy.icc_ma, "source": energy.source,
                "nj_per_cycle": energy.uj(1) * 1000 if energy.known else None},
        empty_app={"flash": empty.flash, "static_ram": empty.static_ram}, ram_reserve=cfg.budget.ram_reserve,
        quick=args.quick)
    gbt_rows = rows.get("gbt", [])
    report = Report(info, ours_row, ordered, same_rows, gbt_rows, scaling, verdict(ours_row, peers),
                    boundary, limits, same, fits.same_as_chosen, plan.gbt_entry["name"] if plan.gbt_entry else None,
                    fits.hgb_same_as_entry, emlearn_on_gbt(em, fits.hgb),
                    {"scaling": "scaling.png", "nodes": "nodes.png"}, per_node_costs(same_rows + gbt_rows + scaling))
    # everything rendered first, then written (atomically): a failure leaves the previous outputs whole
    outputs = {"scaling.png": plot_scaling(scaling, board, sweep.SCALE_DEPTH, sweep.SCALE_TREES),
               "nodes.png": plot_nodes(same_rows + gbt_rows + scaling, board),
               "results.json": json_text(report).encode(), "results.md": markdown(report).encode()}
    for name, content in outputs.items():
        write_bytes_atomic(out_dir / name, content)
    log(f"wrote {out_dir / 'results.md'}, results.json, scaling.png, nodes.png in {elapsed:.0f} s")
    if info.trained["changed_during_run"]:
        log("WARNING: model/trained.json changed during the run: run the bench again for final numbers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
