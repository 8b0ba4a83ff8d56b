"""Every failure clear, fast and safe (issue 11): one test per defect found by trying the project as a new user.

Each failing case checks: an error naming the key/file/port and the reason,
no traceback, a bounded wall time, and model/ and the generated headers unchanged.
Synthetic projects only (tests/projkit.py); the committed model is never retrained.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from projkit import ROOT, header_config, header_csv, kaggle_csv, make_project, pio_project, synthetic_table
from tinybeat import cli
from tinybeat.pipeline.config import ConfigError, load_config
from tinybeat.datasets.table import DataError
from tinybeat.pipeline.artifacts import Paths, load_trained
from tinybeat.pipeline.ensure import ensure_model
from tinybeat.device.vboard import vboard_path

MEGA = "megaatmega2560"
PIO = ROOT / ".venv" / "bin" / "pio"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PLATFORMIO_NO_ANSI": "true"}


def quiet(_: str) -> None:
    """Drop the pipeline's log lines."""


def state(project: Path) -> str:
    """sha256 over every file in model/ and the generated headers (names and bytes): "unchanged" means equal."""
    digest = hashlib.sha256()
    for sub in ("model", *(str(p.relative_to(project)) for p in sorted(project.glob(".pio/build/*/tinybeat")))):
        for path in sorted((project / sub).rglob("*")) if (project / sub).exists() else []:
            if path.is_file() and path.name != ".lock":
                digest.update(str(path.relative_to(project)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def set_config(project: Path, **sections) -> None:
    """Merge sections into model/config.yaml."""
    path = project / "model" / "config.yaml"
    config = yaml.safe_load(path.read_text())
    for name, values in sections.items():
        config[name] = {**config.get(name, {}), **values}
    path.write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.fixture(scope="module")
def trained_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small grouped header project, trained once."""
    X, y, g = synthetic_table()
    project = make_project(tmp_path_factory.mktemp("tpl") / "proj", header_config(),
                           {"data/train.csv": header_csv(X, y, g)})
    assert ensure_model(project, MEGA, log=quiet)["trained"]
    return project


@pytest.fixture
def trained(trained_template: Path, tmp_path: Path) -> Path:
    """A private copy of the trained template (up to date unless the package changed meanwhile)."""
    dest = tmp_path / "proj"
    shutil.copytree(trained_template, dest)
    ensure_model(dest, MEGA, log=quiet)
    return dest


def expect_fast_failure(project: Path, exc_type, *parts: str) -> str:
    """ensure_model must raise exc_type before any model is fitted (the training's task runner is replaced
    by an AssertionError: a check, not a wall-clock budget), mention parts, and leave model/ and the headers alone."""
    import tinybeat.pipeline.train

    def no_fitting(*args, **kwargs):
        raise AssertionError("ensure_model started fitting models before failing")

    before = state(project)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tinybeat.pipeline.train, "run_tasks", no_fitting)
        with pytest.raises(exc_type) as info:
            ensure_model(project, MEGA, log=quiet)
    message = str(info.value)
    for part in parts:
        assert part in message, message
    assert "\n" not in message, message
    assert state(project) == before, "model/ or a generated header changed on a failure"
    return message


# ---- 1. no model fits: known before training, nothing touched ------------------------------------------

def test_no_fit_fails_before_training_and_touches_nothing(trained: Path) -> None:
    """Data changed (a retrain is due) and max_cycles 10: fail in seconds, artifacts unchanged."""
    data = trained / "data" / "train.csv"
    data.write_text(data.read_text() + data.read_text().splitlines()[1] + "\n")
    set_config(trained, budget={"max_cycles": 10})
    expect_fast_failure(trained, ConfigError, "no model fits board megaatmega2560", "10 cycles",
                        "raise budget.max_cycles")


def test_no_fit_after_budget_change_touches_nothing(trained: Path) -> None:
    """Only the budget changed (reselect path): still no change to any artifact."""
    set_config(trained, budget={"max_cycles": 10})
    expect_fast_failure(trained, ConfigError, "no model fits", "raise budget.max_cycles")


# ---- 2. inputs the firmware cannot carry -----------------------------------------------------------------

def test_too_many_inputs_rejected_before_training(trained: Path) -> None:
    """200 samples a row: one line naming the protocol limit read from tbproto.h, before any fitting."""
    from tinybeat.pipeline.checks import protocol_max_payload

    limit = protocol_max_payload(ROOT)
    X, y, g = synthetic_table(n_rows=120, n_features=limit + 8)
    (trained / "data" / "train.csv").write_text(header_csv(X, y, g))
    expect_fast_failure(trained, DataError, f"{limit + 8} inputs per beat", f"at most {limit}",
                        "TBP_MAX_PAYLOAD")


def test_protocol_limit_follows_the_header(tmp_path: Path) -> None:
    """The limit is parsed from lib/tbproto/tbproto.h, so raising TBP_MAX_PAYLOAD raises it."""
    from tinybeat.pipeline.checks import check_n_inputs, protocol_max_payload

    header = tmp_path / "lib" / "tbproto" / "tbproto.h"
    header.parent.mkdir(parents=True)
    header.write_text("#define TBP_HEADER_SIZE 6u\n#define TBP_MAX_PAYLOAD 200u /* bytes */\n")
    assert protocol_max_payload(tmp_path) == 200
    check_n_inputs(tmp_path, 193, ["x.csv"])  # fits now
    with pytest.raises(DataError, match="at most 200"):
        check_n_inputs(tmp_path, 201, ["x.csv"])


# ---- 3. the report says which split was used ----------------------------------------------------------

def test_report_names_a_row_split_and_warns(tmp_path: Path) -> None:
    """Kaggle file (no patient column): no patient claims; a plain warning; ROC title says random rows."""
    X, y, _ = synthetic_table()
    config = {"data": {"train": ["data/k.csv"], "format": "kaggle"},
              "search": {"families": ["gbt", "linear"], "cv_folds": 2, "max_trees": 8}}
    project = make_project(tmp_path / "proj", config, {"data/k.csv": kaggle_csv(X, y)})
    ensure_model(project, MEGA, log=quiet)
    md = (project / "model" / "report.md").read_text()
    assert "never saw" not in md and "grouped cross-validation" not in md, md
    assert "held out at random" in md and "Warning: beats of one patient can sit on both sides" in md, md
    assert "cross-validation on random row folds" in md
    report = json.loads((project / "model" / "report.json").read_text())
    assert report["split"]["roc"] == "random rows"


def test_report_names_a_patient_split(trained: Path) -> None:
    md = (trained / "model" / "report.md").read_text()
    assert "patients the model never saw" in md and "grouped cross-validation" in md
    assert "Warning" not in md


# ---- 5. train and test with different column counts ----------------------------------------------------

def test_train_test_column_mismatch_fails_before_training(trained: Path) -> None:
    X, y, g = synthetic_table(n_rows=80, n_features=21, seed=3)
    (trained / "data" / "test.csv").write_text(header_csv(X, y, g))
    set_config(trained, data={"test": ["data/test.csv"]})
    expect_fast_failure(trained, DataError, "data/test.csv", "21 feature columns", "have 20")


# ---- 6. every config key typed and ranged --------------------------------------------------------------

@pytest.mark.parametrize("section,key,value,allowed", [
    ("budget", "max_cycles", "fast", "positive whole number"),
    ("search", "cv_folds", "5", "whole number from 2"),
    ("data", "input_range", "abc", "two numbers"),
    ("data", "positive_labels", 1, "list of numbers"),
    ("budget", "ram_reserve", -1, "0 or more"),
    ("budget", "flash_reserve", 1.5, "whole number"),
    ("search", "tie_tolerance", "small", "number from 0 to 1"),
    ("search", "seed", True, "whole number"),
    ("data", "test_fraction", 2, "between 0 and 1"),
    ("budget", "max_model_flash", 10**9, "at most"),
])
def test_bad_config_value_names_key_value_and_rule(trained: Path, section: str, key: str, value, allowed: str) -> None:
    set_config(trained, **{section: {key: value}})
    expect_fast_failure(trained, ConfigError, f"{section}.{key}", allowed)


def test_yaml_error_is_one_line_without_unicode_string(trained: Path) -> None:
    (trained / "model" / "config.yaml").write_text("data: {train: [a.csv]\n  x: [\n")
    message = expect_fast_failure(trained, ConfigError, "not valid YAML", "line ")
    assert "<unicode string>" not in message


def test_config_error_from_cli_is_one_line(trained: Path) -> None:
    """`tinybeat train` on a bad config: exit 2, one stderr line, no traceback."""
    set_config(trained, budget={"max_cycles": "fast"})
    run = subprocess.run([sys.executable, "-m", "tinybeat", "train", "--project", str(trained)],
                         capture_output=True, text=True, env=ENV, timeout=60)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert run.stderr.startswith("error: ") and "budget.max_cycles" in run.stderr


# ---- 8. a budget change reselects without retraining ---------------------------------------------------

def test_budget_change_reselects_without_training(trained: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tinybeat.pipeline.train

    def no_training(*args, **kwargs):
        raise AssertionError("a budget change retrained")

    monkeypatch.setattr(tinybeat.pipeline.train, "train", no_training)
    before = load_trained(Paths(trained))
    cheapest = min(e.cycles for e in before.front)
    set_config(trained, budget={"max_cycles": cheapest})
    result = ensure_model(trained, MEGA, log=quiet)
    assert result["trained"] is False and result["entry"].cycles <= cheapest
    after = load_trained(Paths(trained))
    assert after.budget["max_cycles"] == cheapest
    assert [e.to_dict() for e in after.front] == [e.to_dict() for e in before.front]
    report = json.loads((trained / "model" / "report.json").read_text())
    assert report["budget"]["max_cycles"] == cheapest and report["chosen"]["name"] == result["entry"].name
    assert ensure_model(trained, MEGA, log=quiet)["headers_changed"] is False  # now a plain reload


# ---- 9. deliberate thread counts -----------------------------------------------------------------------

def test_training_uses_one_openmp_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside training every OpenMP/BLAS pool is limited to TINYBEAT_THREADS (default 1), even when the
    caller's pools allow more (here 2, as without OMP_NUM_THREADS on 2 cores)."""
    import sklearn.ensemble  # noqa: F401  (load libgomp so the outer limit applies)
    from threadpoolctl import threadpool_info, threadpool_limits

    import tinybeat.core.search as automl

    seen: list[int] = []
    real = automl.fit_integer_models

    def spy(*args, **kwargs):
        seen.extend(p["num_threads"] for p in threadpool_info())
        return real(*args, **kwargs)

    monkeypatch.setattr(automl, "fit_integer_models", spy)
    monkeypatch.delenv("TINYBEAT_THREADS", raising=False)
    X, y, g = synthetic_table()
    # n_jobs 1: the fits run in this process, where the spy sees them (worker processes: tests/test_search.py)
    project = make_project(tmp_path / "p", header_config(search={"n_jobs": 1}), {"data/train.csv": header_csv(X, y, g)})
    with threadpool_limits(limits=2):
        ensure_model(project, MEGA, log=quiet)
    assert seen and set(seen) == {1}, seen


# ---- 10. artifacts as one unit -------------------------------------------------------------------------

def test_report_out_of_step_with_model_is_caught(trained: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A kill after the report but before trained.json (simulated): the next build retrains, in step again."""
    report = trained / "model" / "report.json"
    data = json.loads(report.read_text())
    data["fingerprint"] = "0" * 64  # as if a newer training wrote its report, then died
    report.write_text(json.dumps(data))
    logs: list[str] = []
    assert ensure_model(trained, MEGA, log=logs.append)["trained"] is True
    assert any("out of step" in line for line in logs), logs
    assert json.loads(report.read_text())["fingerprint"] == load_trained(Paths(trained)).fingerprint


def test_trained_json_is_written_last(trained: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes go report files first, model last (so a kill never leaves a new model with an old report)."""
    import tinybeat.util.atomic as atomic

    order: list[str] = []
    real = atomic.write_bytes_atomic

    def record(path, data):
        order.append(Path(path).name)
        return real(path, data)

    monkeypatch.setattr(atomic, "write_bytes_atomic", record)
    import tinybeat.pipeline.report

    monkeypatch.setattr(tinybeat.pipeline.report, "write_bytes_atomic", record)
    ensure_model(trained, MEGA, force_train=True, log=quiet)
    model_files = [n for n in order if n in ("roc.png", "pareto.png", "report.md", "report.json", "trained.json")]
    assert model_files[-1] == "trained.json" and len(model_files) == 5, order


# ---- 14. small things a new user meets -----------------------------------------------------------------

def test_directory_as_data_file_is_named_a_directory(trained: Path) -> None:
    (trained / "data" / "dir.csv").mkdir()
    set_config(trained, data={"train": ["data/dir.csv"]})
    expect_fast_failure(trained, ConfigError, "data/dir.csv is a directory")


def test_header_row_under_auto_gives_a_short_hint(tmp_path: Path) -> None:
    """A Kaggle-like file with a header row: a short message that suggests format: kaggle."""
    from tinybeat.datasets.table import load_csv

    X, y, _ = synthetic_table(n_rows=20, n_features=187)
    text = ",".join(f"c{j}" for j in range(188)) + "\n" + kaggle_csv(X, y)
    path = tmp_path / "k.csv"
    path.write_text(text)
    with pytest.raises(DataError) as info:
        load_csv(path, fmt="auto", target="target")
    message = str(info.value)
    assert len(message) < 400 and "format: kaggle" in message and "188 columns" in message, message


def test_gitignore_lists_no_tracked_file() -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(["git", "ls-files", "-ci", "--exclude-standard"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out == "", f"tracked but ignored: {out}"


def test_candidate_scores_are_rounded(trained: Path) -> None:
    """CV scores carry at most 9 decimals: float noise across machines cannot reorder candidates."""
    for cand in load_trained(Paths(trained)).candidates:
        assert cand.cv_metric == round(cand.cv_metric, 9)


# ---- predict ----------------------------------------------------------------------------------------------

def test_predict_matches_the_integer_reference(trained: Path, tmp_path: Path, capsys) -> None:
    from tinybeat.core import families
    from tinybeat.pipeline.selection import select_for_board
    from tinybeat.targets.boards import load_board
    from tinybeat.core.quantize import quantize_inputs

    X, y, g = synthetic_table(n_rows=40, seed=9)
    beats = tmp_path / "beats.csv"
    beats.write_text(header_csv(X, y, g))
    out = tmp_path / "pred.csv"
    assert cli.main(["predict", str(beats), "--project", str(trained), "--out", str(out)]) == 0
    rows = [line.split(",") for line in out.read_text().splitlines()[1:]]
    cfg = load_config(Paths(trained).config)
    entry = select_for_board(load_trained(Paths(trained)), load_board(trained, MEGA), cfg)
    expected = families.predict_scores(entry.model, quantize_inputs(X))
    assert [int(r[2]) for r in rows] == expected.tolist()
    assert [int(r[1]) for r in rows] == (expected > entry.decision_threshold).astype(int).tolist()
    assert [int(r[3]) for r in rows] == y.tolist()
    assert "accuracy" in capsys.readouterr().out
    # without labels (header without the target column): still classified
    unlabelled = tmp_path / "u.csv"
    unlabelled.write_text("\n".join(",".join(f"{v:.4f}" for v in row) for row in X) + "\n")
    assert cli.main(["predict", str(unlabelled), "--project", str(trained), "--out", str(out)]) == 0
    assert [int(line.split(",")[2]) for line in out.read_text().splitlines()[1:]] == expected.tolist()


def test_predict_default_output_is_not_the_project_root(trained: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    """Without --out the per-beat CSV goes to model/predict/<file>.csv (git-ignored), not predictions.csv in the root."""
    X, y, g = synthetic_table(n_rows=10, seed=3)
    beats = tmp_path / "mine.csv"
    beats.write_text(header_csv(X, y, g))
    monkeypatch.chdir(trained)
    assert cli.main(["predict", str(beats), "--project", str(trained)]) == 0
    assert not (trained / "predictions.csv").exists()
    out = trained / "model" / "predict" / "mine.csv"
    assert len(out.read_text().splitlines()) == 11 and str(out) in capsys.readouterr().out
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "model/predict/" in ignored


def test_predict_bad_file_is_one_line(trained: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("0.1,0.2,0.3\n")
    assert cli.main(["predict", str(bad), "--project", str(trained)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.csv" in err and "expected 20 columns" in err, err


def test_version_and_help() -> None:
    run = subprocess.run([sys.executable, "-m", "tinybeat", "--version"], capture_output=True, text=True, env=ENV)
    assert run.returncode == 0 and run.stdout.startswith("tinybeat ")
    text = cli.build_parser().format_help()
    assert "examples:" in text and "tinybeat predict" in text
    for action in cli.build_parser()._subparsers._group_actions[0].choices.values():
        for opt in action._actions:
            assert opt.help, f"option {opt.dest} of {action.prog} has no help text"


# ---- firmware-level: upload, concurrent builds, evaluate, flooding ---------------------------------------

needs_pio = pytest.mark.skipif(not PIO.is_file() or not shutil.which("avr-gcc"), reason="pio or avr-gcc missing")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic copy of the project, built once for the Mega."""
    project = pio_project(tmp_path_factory.mktemp("pio") / "proj")
    run = subprocess.run([str(PIO), "run", "-e", MEGA], cwd=project, capture_output=True, text=True, env=ENV,
                         timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return project


def pio(project: Path, *args: str, timeout: float = 120) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.monotonic()
    run = subprocess.run([str(PIO), *args], cwd=project, capture_output=True, text=True, env=ENV, timeout=timeout)
    return run, time.monotonic() - t0


@needs_pio
@pytest.mark.parametrize("port", ["/dev/nonexistent", "/dev/null"])
def test_upload_to_a_missing_or_wrong_port_fails_fast(built: Path, port: str) -> None:
    before = state(built)
    run, elapsed = pio(built, "run", "-e", MEGA, "-t", "upload", "--upload-port", port)
    # fails before avrdude starts (no wall-clock bound: pio's own start-up is slow on a loaded host)
    assert run.returncode != 0 and "avrdude:" not in run.stdout + run.stderr, run.stdout[-1500:]
    errors = [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and port in errors[0] and "check that the board is plugged in" in errors[0], errors
    assert "Traceback" not in run.stdout + run.stderr and state(built) == before


@needs_pio
def test_second_concurrent_build_is_refused(built: Path) -> None:
    """While a build of the env holds its lock, another `pio run` stops at once with a clear message."""
    lock = built / ".pio" / "build" / MEGA / ".tinybeat-build.lock"
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        run, _ = pio(built, "run", "-e", MEGA)  # waiting for the lock would end in pio()'s TimeoutExpired
    assert run.returncode != 0
    assert "another `pio run` or `pio test` is building env 'megaatmega2560'" in run.stdout + run.stderr


needs_vboard = pytest.mark.skipif(not vboard_path(ROOT).is_file(), reason="avr-vboard missing (./run.sh setup)")


def evaluate_cli(project: Path, *args: str, timeout: float = 60) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "tinybeat", "evaluate", "--project", str(project), *args],
                         capture_output=True, text=True, env=ENV, timeout=timeout)
    return run, time.monotonic() - t0


def one_line_error(run: subprocess.CompletedProcess, *parts: str) -> None:
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr, run.stderr
    for part in parts:
        assert part in run.stderr, run.stderr


@needs_pio
@needs_vboard
def test_evaluate_defaults_to_the_env_firmware(built: Path) -> None:
    run, _ = evaluate_cli(built, "--limit", "5")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "differing from the Python reference: 0" in run.stdout
    front = load_trained(Paths(built)).front  # the name on the board is the candidate name
    assert any(f"model {e.name} " in run.stdout for e in front), run.stdout
    assert (built / ".pio" / "tinybeat" / "device_eval_megaatmega2560.json").is_file()
    assert not list((built / "model").glob("device_eval*")), "evaluate wrote into model/"


@needs_pio
def test_evaluate_errors_are_one_line(built: Path, tmp_path: Path) -> None:
    elf = built / ".pio" / "build" / MEGA / "firmware.elf"
    run, _ = evaluate_cli(built, "--elf", str(tmp_path / "missing.elf"))
    one_line_error(run, "missing.elf not found", "pio run -e megaatmega2560")
    run, _ = evaluate_cli(built, "--board", "uno", "--elf", str(elf))
    one_line_error(run, "built for atmega2560", "board uno is an atmega328p")
    run, _ = evaluate_cli(built, "--port", "/dev/nonexistent")
    one_line_error(run, "/dev/nonexistent does not exist")
    test_program = tmp_path / "test.elf"
    data = elf.read_bytes().replace(b"heartbeat classifier", b"xxxxxxxxxxxxxxxxxxxx")
    test_program.write_bytes(data)
    run, _ = evaluate_cli(built, "--elf", str(test_program))
    one_line_error(run, "is not the tinybeat firmware", "pio test")


@needs_pio
def test_evaluate_silent_port_fails_in_seconds(built: Path) -> None:
    """A port where nothing answers (a pty nobody serves): one line naming the tool's own bounded wait
    (a hang ends in evaluate_cli's TimeoutExpired; no wall-clock bound: a loaded host is slow to start)."""
    master, slave = os.openpty()
    try:
        run, _ = evaluate_cli(built, "--port", os.ttyname(slave), timeout=120)
    finally:
        os.close(master)
        os.close(slave)
    one_line_error(run, "no tinybeat firmware answered")
    assert re.search(r"within \d+(\.\d+)? s", run.stderr), run.stderr


@needs_pio
@needs_vboard
def test_flooded_requests_never_wedge_the_board(built: Path) -> None:
    """500 INFO requests without waiting: the board keeps answering (replies may be lost: the documented
    rule is one request at a time), and a normal request afterwards gets a correct reply."""
    from tinybeat.device import protocol
    from tinybeat.targets.boards import load_board
    from tinybeat.device.client import Device
    from tinybeat.device.vboard import VirtualBoard

    elf = built / ".pio" / "build" / MEGA / "firmware.elf"
    with VirtualBoard(ROOT, elf, load_board(ROOT, MEGA)) as vb, Device(vb.port) as dev:
        dev.wait_ready()
        burst = b"".join(protocol.encode_frame(protocol.INFO, i & 0xFF, b"") for i in range(500))
        dev.serial.write(burst)
        parser, replies, deadline = protocol.FrameParser(), 0, time.monotonic() + 30
        quiet_since = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - quiet_since < 1.0:
            data = dev.serial.read(4096)
            if data:
                quiet_since = time.monotonic()
                replies += sum(1 for f in parser.feed(data) if isinstance(f, protocol.Frame) and not f.is_error)
        assert replies > 0
        dev.seq = 0
        info = dev.info()  # one request at a time again: answered correctly
        assert info.n_inputs == 187
        x = np.zeros(187, dtype=np.uint8)
        assert dev.infer(x).cycles > 0


@needs_pio
def test_second_build_of_a_fresh_clone_compiles_nothing(tmp_path: Path) -> None:
    """The generated headers appear during the first build; the second must not see a 'new' project."""
    project = pio_project(tmp_path / "fresh")
    first, _ = pio(project, "run", "-e", MEGA, timeout=600)
    assert first.returncode == 0, first.stdout[-2000:]
    second, _ = pio(project, "run", "-e", MEGA)
    assert second.returncode == 0 and "Compiling" not in second.stdout, second.stdout[-2000:]


@needs_pio
def test_host_program_reads_the_training_csv(built: Path, tmp_path: Path) -> None:
    """`program --csv` quantizes training-format rows exactly as Python does and agrees with predict."""
    from tinybeat.core import families
    from tinybeat.targets.boards import load_board
    from tinybeat.pipeline.selection import select_for_board
    from tinybeat.core.quantize import quantize_inputs

    run, _ = pio(built, "run", "-e", "native", timeout=600)
    assert run.returncode == 0, run.stdout[-2000:]
    program = built / ".pio" / "build" / "native" / "program"
    X, y, _ = synthetic_table(n_rows=60, n_features=187, seed=11)
    X[0, :] = 0.5 / 255  # exactly half a step: rounds up in both
    X[1, :] = 1.0
    text = ",".join(f"x{j}" for j in range(187)) + ",label\n" + kaggle_csv(X, y)
    out = subprocess.run([str(program), "--csv"], input=text, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    got = [tuple(int(v) for v in line.split()) for line in out.stdout.splitlines()]
    entry = select_for_board(load_trained(Paths(built)), load_board(built, MEGA), load_config(Paths(built).config))
    scores = families.predict_scores(entry.model, quantize_inputs(X))
    assert got == [(int(s > entry.decision_threshold), int(s)) for s in scores]
    bad = subprocess.run([str(program), "--csv"], input="0.1,0.2\n", capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith("stdin: line 1: expected 187 values"), bad.stderr


@needs_pio
@needs_vboard
def test_predict_on_the_board_matches_the_pc(built: Path, tmp_path: Path) -> None:
    """`tinybeat predict --port` (the simulated board's pty) gives the PC path's classes and scores."""
    from tinybeat.targets.boards import load_board
    from tinybeat.device.vboard import VirtualBoard

    X, y, _ = synthetic_table(n_rows=12, n_features=187, seed=12)
    beats = tmp_path / "beats.csv"
    beats.write_text(kaggle_csv(X, y))
    pc, board = tmp_path / "pc.csv", tmp_path / "board.csv"
    assert cli.main(["predict", str(beats), "--project", str(built), "--out", str(pc), "-q"]) == 0
    elf = built / ".pio" / "build" / MEGA / "firmware.elf"
    with VirtualBoard(ROOT, elf, load_board(ROOT, MEGA)) as vb:
        assert cli.main(["predict", str(beats), "--project", str(built), "--out", str(board), "--port", vb.port,
                         "-q"]) == 0
    assert pc.read_text() == board.read_text() and len(pc.read_text().splitlines()) == 13


def test_structural_costs_equal_the_fitted_costs(tmp_path: Path) -> None:
    """The feasibility check's costs (from structure alone) are exactly those of the fitted candidates,
    for every family; for the early-exit encodings (-ee8, -ee16) they are an upper bound, since a
    fitted ensemble may be shallower than its depth parameter and is encoded at its own depth."""
    from tinybeat.core.search import default_grid
    from tinybeat.pipeline.checks import grid_costs
    from tinybeat.targets import load_target

    X, y, g = synthetic_table()
    config = header_config(search={"families": ["gbt", "rf", "mlp", "linear"]})
    trained = make_project(tmp_path / "all", config, {"data/train.csv": header_csv(X, y, g)})
    ensure_model(trained, MEGA, log=quiet)
    saved = load_trained(Paths(trained))
    cfg = load_config(Paths(trained).config)
    predicted = grid_costs(default_grid(cfg.search.families, cfg.search.max_trees), saved.n_inputs,
                           load_target(trained, MEGA))
    assert set(predicted) == {c.name for c in saved.candidates}
    for c in saved.candidates:
        cost = predicted[c.name]
        if "-ee" in c.name:
            assert c.flash_bytes <= cost.flash_bytes and c.ram_bytes <= cost.ram_bytes and c.cycles <= cost.cycles, c
        else:
            assert (cost.flash_bytes, cost.ram_bytes, cost.cycles) == (c.flash_bytes, c.ram_bytes, c.cycles), c
