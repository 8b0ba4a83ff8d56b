"""`tinybeat stream` tells the user what to do: every option checked first, records read or refused in one line.

No firmware is built here: every case stops before the board runs (exit 2, one
line naming the cause), and a previous result must survive it. Also the record
readers behind stream and training (resampling above 360 Hz, beats CSVs), the
verdict scoring against annotations and the summary's wording.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from projkit import ROOT
from tinybeat.cli import main
from tinybeat.device import stream_scores
from tinybeat.device.feed import Signal
from tinybeat.device.protocol import BeatEvent
from tinybeat.recordings import labelled
from tinybeat.recordings.records import RecordError, load_record

EXCERPT = ROOT / "data" / "records" / "208_5min"  # 300 s at 360 Hz, committed
needs_excerpt = pytest.mark.skipif(not EXCERPT.with_suffix(".hea").is_file(), reason="no committed excerpt")


def _avr_program(tmp_path: Path, mcu: str = "atmega2560", banner: str = "") -> Path:
    """An AVR program (as `pio test` leaves in .pio/build/<env>/); with banner, a string the firmware's check looks for."""
    src = tmp_path / "t.c"
    src.write_text(f'const char banner[] __attribute__((used)) = "{banner}";\nint main(void) {{ for (;;) {{}} }}\n')
    elf = tmp_path / f"{mcu}.elf"
    subprocess.run(["avr-gcc", f"-mmcu={mcu}", "-Os", "-o", str(elf), str(src)], check=True)
    return elf


def _stream(tmp_path: Path, *args: str) -> tuple[int, Path]:
    """Run `tinybeat stream` into tmp_path/out holding an older result; returns status and the out dir.

    The ELF passes the firmware check (an AVR program with the firmware's banner words), so each case
    stops at the option it tests."""
    from tinybeat.device.client import FIRMWARE_MARK

    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    (out / "208_5min.json").write_text('{"old": true}')
    mcu = "atmega328p" if "uno" in args else "atmega2560"
    elf = _avr_program(tmp_path, mcu, FIRMWARE_MARK.decode())
    return main(["stream", "--project", str(ROOT), "--out", str(out), "--elf", str(elf), *args]), out


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    return err[0]


needs_avr_gcc = pytest.mark.skipif(shutil.which("avr-gcc") is None, reason="avr-gcc missing")


@needs_excerpt
@needs_avr_gcc
@pytest.mark.parametrize("args, words", [
    (["--channel", "16"], ["--channel 16", "0..15", "ATmega2560"]),
    (["--channel", "-1"], ["--channel -1", "0..15"]),
    (["--board", "uno", "--channel", "6"], ["--channel 6", "0..5"]),
    (["--duration", "-5"], ["--duration -5"]),
    (["--duration", "0"], ["--duration 0"]),
    (["--lead-off", "5:3"], ["--lead-off 5:3", "before"]),
    (["--duration", "20", "--lead-off", "15:25"], ["--lead-off 15:25", "0..20 s"]),
    (["--start", "600"], ["--start 600", "300.0 s"]),
    (["--start", "290", "--duration", "20", "--lead-off", "5:15"], ["--lead-off 5:15", "0..10 s",
                                                                     "290..300 s of the record"]),
])
def test_bad_options_are_one_line_before_anything(tmp_path: Path, capsys, args: list[str], words: list[str]) -> None:
    """Each bad option: status 2, one line naming the option and the valid range; the older result stays."""
    rc, out = _stream(tmp_path, str(EXCERPT), *args)
    line = _one_line(capsys)
    assert rc == 2, line
    for w in words:
        assert w in line, (w, line)
    assert json.loads((out / "208_5min.json").read_text()) == {"old": True}


@needs_avr_gcc
def test_a_directory_is_named_as_such(tmp_path: Path, capsys) -> None:
    rc, _ = _stream(tmp_path, str(tmp_path))
    line = _one_line(capsys)
    assert rc == 2 and "is a directory" in line and ".hea" not in line.split("is a directory")[0][-5:], line


@needs_excerpt
@pytest.mark.skipif(shutil.which("avr-gcc") is None, reason="avr-gcc missing")
def test_a_test_program_elf_is_named_with_the_fix(tmp_path: Path, capsys) -> None:
    """After `pio test -e megaatmega2560` the ELF is a test program: named as such, with the rebuild command."""
    elf = _avr_program(tmp_path)
    out = tmp_path / "out"
    rc = main(["stream", str(EXCERPT), "--project", str(ROOT), "--out", str(out), "--elf", str(elf),
               "--duration", "5"])
    line = _one_line(capsys)
    assert rc == 2 and "not the tinybeat firmware" in line and "pio run -e megaatmega2560" in line, line
    assert not out.exists()


@needs_excerpt
def test_results_go_per_board_or_env(tmp_path: Path) -> None:
    """The default result folder is model/stream/<env> (the board id when no env is named)."""
    from tinybeat.device.stream import result_dir

    assert result_dir(ROOT, None, "uno", None) == ROOT / "model" / "stream" / "uno"
    assert result_dir(ROOT, None, "megaatmega2560", None) == ROOT / "model" / "stream" / "megaatmega2560"
    assert result_dir(ROOT, None, "megaatmega2560", "megaatmega2560-arduino").name == "megaatmega2560-arduino"
    assert result_dir(ROOT, str(tmp_path), "uno", None) == tmp_path


def test_hook_targets_name_the_env_and_refuse_sketch_streams() -> None:
    """pio targets: evaluate and stream get --env; a sketch env's stream target explains instead of E_TYPE."""
    from tinybeat.integrations.pio_hook import target_commands

    cmds = target_commands("py", ROOT, "/b/megaatmega2560-arduino", "megaatmega2560", "megaatmega2560-arduino",
                           port="", record="", sketch="lib/TinyBeatArduino/examples/SerialClassifier")
    assert cmds["evaluate"][-2:] == ["--env", "megaatmega2560-arduino"]
    assert "stream" not in cmds and "SerialClassifier" in cmds["stream_refusal"]
    assert "pio run -e megaatmega2560 -t stream" in cmds["stream_refusal"]
    bare = target_commands("py", ROOT, "/b/megaatmega2560", "megaatmega2560", "megaatmega2560", "", "", "")
    assert bare["stream"][-2:] == ["--env", "megaatmega2560"] and "stream_refusal" not in bare


# ---- records: resampling, truncation, CSV recordings and their beats -------------------------------------

def _write_wfdb(tmp_path: Path, name: str, fs: int, seconds: float, beats_every_s: float = 0.8,
                fmt: str = "16") -> Path:
    import wfdb

    n = int(fs * seconds)
    t = np.arange(n) / fs
    r = np.arange(0.5, seconds - 0.5, beats_every_s)
    sig = sum(1.2 * np.exp(-0.5 * ((t - x) / 0.012) ** 2) for x in r)[:, None]
    wfdb.wrsamp(name, fs=fs, units=["mV"], sig_name=["MLII"], p_signal=sig, fmt=[fmt], write_dir=str(tmp_path))
    samples = np.round(r * fs).astype(np.int64)
    wfdb.wrann(name, "atr", samples, symbol=["N"] * len(samples), write_dir=str(tmp_path))
    return tmp_path / name


@pytest.mark.parametrize("fs", [500, 1000])
def test_fast_records_are_resampled_to_360_with_their_beats(tmp_path: Path, fs: int) -> None:
    """A 500 or 1000 Hz record loads at 360 Hz: annotations move with it and still sit on the R peaks."""
    path = _write_wfdb(tmp_path, f"fast{fs}", fs, 20.0)
    rec = load_record(path)
    assert rec.fs == 360 and abs(len(rec.adc) - 20 * 360) <= 1
    peaks = rec.adc.astype(np.int64)
    for s in rec.ann_samples:
        lo, hi = max(0, s - 5), min(len(peaks), s + 6)
        assert abs(int(np.argmax(peaks[lo:hi])) + lo - s) <= 1, s
    assert rec.resampled_from == fs


@pytest.mark.parametrize("fmt", ["212", "16"])
def test_truncated_dat_is_one_line_naming_the_file(tmp_path: Path, fmt: str) -> None:
    """Format 212 (MIT-BIH's) cut short made numpy's broadcast error the message; now the sizes are named."""
    path = _write_wfdb(tmp_path, "cut", 360, 10.0, fmt=fmt)
    dat = path.with_name("cut.dat")
    dat.write_bytes(dat.read_bytes()[:3001])
    with pytest.raises(RecordError) as err:
        load_record(path)
    msg = str(err.value)
    assert msg.startswith(str(dat)) and "truncated" in msg and "broadcast" not in msg and "\n" not in msg, msg


def _csv_record(tmp_path: Path, fs: int = 360, seconds: float = 12.0, beats: str | None = None) -> Path:
    t = np.arange(int(fs * seconds)) / fs
    r = np.arange(0.5, seconds - 0.5, 0.8)
    mv = sum(1.2 * np.exp(-0.5 * ((t - x) / 0.012) ** 2) for x in r)
    path = tmp_path / "walk.csv"
    path.write_text("ecg_mv\n" + "".join(f"{v:.4f}\n" for v in mv))
    if beats is None:
        beats = "sample,symbol\n" + "".join(f"{int(round(x * fs))},N\n" for x in r)
    (tmp_path / "walk_beats.csv").write_text(beats)
    return path


def test_beats_csv_skips_non_beat_annotations_and_counts_them(tmp_path: Path) -> None:
    """`+`, `~` and `|` are rhythm, noise and artifact marks, not beats: left out and counted."""
    path = _csv_record(tmp_path, beats="sample,symbol\n100,+\n180,N\n300,~\n468,V\n500,|\n756,N\n")
    rec = labelled.load_csv_record(path, 360)
    assert rec.ann_samples.tolist() == [180, 468, 756] and rec.ann_symbols.tolist() == ["N", "V", "N"]
    assert rec.non_beats == {"+": 1, "~": 1, "|": 1}


def test_beats_csv_unknown_symbol_names_its_row(tmp_path: Path) -> None:
    path = _csv_record(tmp_path, beats="sample,symbol\n180,N\n468,Z\n")
    with pytest.raises(RecordError) as err:
        labelled.load_csv_record(path, 360)
    msg = str(err.value)
    assert "walk_beats.csv" in msg and "row 3" in msg and "'Z'" in msg, msg


def test_csv_record_above_360_hz_is_resampled(tmp_path: Path) -> None:
    path = _csv_record(tmp_path, fs=1000)
    rec = labelled.load_csv_record(path, 1000)
    assert rec.fs == 360 and abs(int(rec.ann_samples[0]) - 180) <= 1


def test_nan_in_a_csv_record_names_the_file_once(tmp_path: Path) -> None:
    from tinybeat.datasets.table import DataError

    path = _csv_record(tmp_path)
    lines = path.read_text().splitlines()
    lines[5] = "nan"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as err:
        labelled.records_table([path], sample_rate=360)
    msg = str(err.value)
    assert msg.count("walk.csv") == 1 and "row 6" in msg, msg


# ---- what the summary says ------------------------------------------------------------------------------

def _beat(r: int, klass: int, score: int = 0) -> BeatEvent:
    return BeatEvent(r_sample=r, rr_pre=300, rr_post=300, rr_avg=300, hr_x10=720, flags=0,
                     klass=klass, score=score, features=bytes(6), checksum=0, cycles=1000)


def _signal(n: int, ann: list[int], symbols: list[str], lead_off: tuple[int, int] | None = None) -> Signal:
    lo = np.zeros(n, dtype=bool)
    if lead_off:
        lo[lead_off[0]:lead_off[1]] = True
    return Signal("x", 360, np.full(n, 1650, dtype=np.int32), lo, np.array(ann, dtype=np.int64),
                  None, ann_symbols=np.array(symbols, dtype=str))


def test_verdicts_are_scored_against_the_annotations() -> None:
    sig = _signal(3600, [300, 600, 900, 1200], ["N", "V", "N", "V"])
    beats = [_beat(301, 0, -5), _beat(602, 1, 9), _beat(899, 1, 3), _beat(1201, 0, -1)]
    v = stream_scores.verdict_scores(sig, beats)
    assert v["confusion"] == {"classes": ["normal", "abnormal"], "counts": [[1, 1], [1, 1]]}
    assert v["se"] == 0.5 and v["sp"] == 0.5 and v["compared"] == 4 and v["auc"] == 0.75
    assert v["disagreements"] == [{"sample": 899, "reference": "N", "board": "abnormal"},
                                  {"sample": 1201, "reference": "V", "board": "normal"}]


def test_beats_inside_lead_off_are_not_missed() -> None:
    sig = _signal(3600, [300, 600, 900, 1200], ["N"] * 4, lead_off=(500, 1000))
    d = stream_scores.detection_metrics(sig, [_beat(301, 0), _beat(1201, 0)], flagged=[(500, 999)])
    assert d["fn"] == 0 and d["tp"] == 2 and d["flagged_s"] > 1.3


def test_no_reference_beats_never_prints_nan() -> None:
    sig = _signal(720, [], [])
    d = stream_scores.detection_metrics(sig, [])
    line = stream_scores.detection_line(d)
    assert "nan" not in line and "no reference beats in the scored span" in line


def test_verdict_scores_name_the_records_split(tmp_path: Path) -> None:
    """A record the model trained on gives optimistic verdict scores: the summary line says which split it is in."""
    from tinybeat.device.stream import record_split

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "dataset.json").write_text(json.dumps(
        {"splits": {"train": {"records": ["208"]}, "test": {"records": ["105"]}}}))
    assert [record_split(tmp_path, r) for r in ("208", "105", "x")] == ["train", "test", "unknown"]
    assert record_split(tmp_path / "none", "208") == "unknown"
    v = {"available": True, "compared": 1, "confusion": {"classes": ["normal", "abnormal"], "counts": [[1, 0], [0, 0]]},
         "per_class": {}, "disagreements": [], "se": None, "sp": 1.0, "auc": None, "record_split": "train"}
    assert "a training record: optimistic" in stream_scores.verdict_lines(v)[0]
