"""bench/tinybeat_bench: the board-dependent rules and the report, without running the bench itself."""

from __future__ import annotations

import math
import shutil
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "bench"))

from tinybeat.targets import load_target  # noqa: E402
from tinybeat_bench import toolchain  # noqa: E402
from tinybeat_bench.report import fmt_int, fmt_ratio, kernel_table  # noqa: E402
from tinybeat_bench.rows import EnergyModel, FitRule, Row  # noqa: E402
from tinybeat_bench.verdict import add_ratios, verdict  # noqa: E402


def row(name: str, engine: str = "tinybeat", **kw) -> Row:
    base = dict(role="peer", kind="k", features="uint8", auc=0.9, accuracy=0.8, balanced_accuracy=0.75)
    base.update(kw)
    return Row(name=name, engine=engine, **base)


def test_bench_fit_rule_uses_the_board_manifest():
    board = load_target(PROJECT, "megaatmega2560").board
    rule = FitRule(board, flash_reserve=1000, ram_reserve=1024)
    ok = row("ok", flash_total=board.flash_bytes, static_ram=board.ram_bytes - 100, stack=100)
    rule.apply(ok)
    assert ok.fits_board and ok.ram_total == board.ram_bytes and not ok.fits_project_budget
    over = row("over", flash_total=2000, static_ram=board.ram_bytes - 50, stack=51)
    rule.apply(over)
    assert not over.fits_board and over.fits_flash and not over.fits_ram
    unbuilt = row("unbuilt")
    rule.apply(unbuilt)
    assert not unbuilt.fits_board


def test_bench_energy_follows_the_board_clock():
    e16 = EnergyModel("atmega2560", 16_000_000)
    assert math.isclose(e16.uj(1) * 1000, 6.25)          # 5 V x 20 mA / 16 MHz, in nJ
    assert math.isclose(EnergyModel("atmega2560", 8_000_000).uj(1) * 1000, 6.25)  # current scales with the clock
    unknown = EnergyModel("atmega328p", 16_000_000)
    assert unknown.uj(1000) is None and "atmega328p" in unknown.source


def test_bench_verdict_and_ratios():
    ours = row("ours", role="chosen", auc=0.93, accuracy=0.86, cycles_median=5000.0, flash_total=2700, ram_total=270,
               flash_over_empty=2300)
    slow = row("slow", "emlearn", auc=0.92, accuracy=0.83, cycles_median=50000.0, flash_total=50000, ram_total=1100,
               fits_board=True, flash_over_empty=49600)
    unfit = row("unfit", "emlearn", auc=0.99, accuracy=0.99, cycles_median=None, fits_board=False)
    v = verdict(ours, [slow, unfit])
    assert v["n_peers_fitting_board"] == 1 and v["best_auc_fitting_board"]["peer"] == "slow"
    assert v["best_auc_within_our_footprint"] is None
    add_ratios([ours, slow], ours)
    assert slow.vs_ours["cycles"] == 10.0 and fmt_ratio(slow.vs_ours["cycles"]) == "10x"
    assert ours.vs_ours["cycles"] == 1.0 and fmt_ratio(slow.vs_ours["flash_over_empty"]) == "22x"


def test_bench_kernel_table_has_one_row_per_kernel():
    rows = [row("a", kernel="tb_trees_score", nodes_visited_mean=224.0, cycles_median=6336.0),
            row("b", kernel="tb_etree_score", nodes_visited_mean=221.7, cycles_median=6141.0),
            row("c", "emlearn 0.23.2", features="int16", nodes_visited_mean=221.6, cycles_median=7470.0,
                cycles_predict_median=3602.0)]
    lines = kernel_table(rows)
    assert len(lines) == 2 + 3
    assert "| 224 |" in lines[2] and "| 221.7 |" in lines[3] and "| 7 470 | 3 602 |" in lines[4]
    assert fmt_int(None) == "-" and fmt_int(float("nan")) == "-"


def test_bench_ram_end_from_a_link_error():
    log = "ld: address 0x802a40 of size.elf section `.bss' is not within region `data'"
    assert toolchain.ram_end_from_log(log, 0x800200) == 0x2840
    assert toolchain.is_ram_overflow(log) and not toolchain.is_flash_overflow(log)
    assert toolchain.ram_end_from_log("no address", 0x800200) is None


@pytest.mark.skipif(not shutil.which("avr-gcc"), reason="needs avr-gcc (./run.sh setup)")
@pytest.mark.parametrize("board_id, ram_origin", [("megaatmega2560", 0x800200), ("uno", 0x800100)])
def test_bench_size_probe_builds_for_each_board(board_id, ram_origin):
    from tinybeat_bench.emlearn_adapter import EMPTY_APP_HEADER

    board = load_target(PROJECT, board_id).board
    tools = toolchain.Toolchain(PROJECT, board)
    assert f"-mmcu={board.mcu}" in tools.flags and f"-DF_CPU={board.f_cpu}L" in tools.flags
    build = tools.size_probe(EMPTY_APP_HEADER, n_inputs=193)
    assert build.ok, build.log
    assert build.data_start == ram_origin
    assert 0 < build.flash < 1000 and build.static_ram >= 193


def test_bench_without_emlearn_names_the_requirements_file(tmp_path: Path) -> None:
    """No emlearn installed: one line naming `pip install -r bench/requirements.txt`, status 2, no traceback."""
    import subprocess

    blocker = tmp_path / "emlearn.py"  # an import of emlearn fails as if it were not installed
    blocker.write_text("raise ModuleNotFoundError(\"No module named 'emlearn'\", name='emlearn')\n")
    env = {**__import__("os").environ, "PYTHONPATH": f"{tmp_path}:{PROJECT / 'python'}"}
    run = subprocess.run([sys.executable, str(PROJECT / "bench" / "run_bench.py"), "--out", str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=120, env=env)
    err = run.stderr.strip().splitlines()
    assert run.returncode == 2, run.stderr
    assert len(err) == 1 and "pip install -r bench/requirements.txt" in err[0] and "Traceback" not in run.stderr, err
    assert not (tmp_path / "out").exists()
