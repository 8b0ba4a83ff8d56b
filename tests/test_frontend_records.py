"""tinybeat.recordings.records.load_record: ADC codes, beat annotations, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import wfdb

from tinybeat.recordings.records import BEAT_SYMBOLS, RecordError, load_record

ROOT = Path(__file__).resolve().parents[1]
MITDB = ROOT.parent / "shared" / "data" / "mitdb"

# wfdb 4.3.1 calls pandas set_index(inplace=True) and drop(inplace=True), deprecated by pandas
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword")


def write_record(tmp: Path, name: str, fs: float = 250, n: int = 2000, with_atr: bool = True) -> Path:
    """A small two-signal WFDB record (MLII second) with a few annotations."""
    t = np.arange(n) / fs
    sig = np.stack([0.1 * np.sin(2 * np.pi * t), 1.0 * np.sin(2 * np.pi * 1.2 * t)], axis=1)
    wfdb.wrsamp(name, fs=fs, units=["mV", "mV"], sig_name=["V1", "MLII"], p_signal=sig, fmt=["212", "212"],
                adc_gain=[200.0, 200.0], baseline=[0, 0], write_dir=str(tmp))
    if with_atr:
        wfdb.wrann(name, "atr", np.array([100, 300, 500, 700, 900]), np.array(["N", "+", "V", "[", "N"]),
                   write_dir=str(tmp))
    return tmp / name


def test_small_record(tmp_path: Path) -> None:
    rec = load_record(write_record(tmp_path, "r1"))
    assert rec.fs == 250 and rec.lead == "MLII" and rec.name == "r1"
    assert rec.adc.dtype == np.uint16 and len(rec.adc) == 2000
    assert 0 <= rec.adc.min() and rec.adc.max() <= 1023
    assert rec.ann_samples.tolist() == [100, 500, 900]        # '+' and '[' are not beats
    assert rec.ann_symbols.tolist() == ["N", "V", "N"]
    assert rec.vf_intervals.tolist() == [[700, 1999]]          # an unclosed '[' runs to the end


def test_missing_atr_is_not_an_error(tmp_path: Path) -> None:
    rec = load_record(write_record(tmp_path, "r2", with_atr=False))
    assert rec.ann_samples is None and rec.ann_symbols is None and rec.vf_intervals is None


def one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(RecordError) as e:
        load_record(tmp_path / "nothing")
    assert "nothing.hea" in one_line(e) and "missing" in one_line(e)
    path = write_record(tmp_path, "r3")
    (tmp_path / "r3.dat").unlink()
    with pytest.raises(RecordError) as e:
        load_record(path)
    assert "r3.dat" in one_line(e) and "missing" in one_line(e)


def test_truncated_dat(tmp_path: Path) -> None:
    path = write_record(tmp_path, "r4")
    dat = tmp_path / "r4.dat"
    dat.write_bytes(dat.read_bytes()[:1000])
    with pytest.raises(RecordError) as e:
        load_record(path)
    assert "r4.dat" in one_line(e) and "truncated" in one_line(e)


def test_rate_below_the_front_end(tmp_path: Path) -> None:
    """Under 125 Hz: one line naming the header (faster records are resampled: tests/test_stream_options.py)."""
    with pytest.raises(RecordError) as e:
        load_record(write_record(tmp_path, "r5", fs=100))
    assert "r5.hea" in one_line(e) and "100 Hz" in one_line(e) and "125 Hz" in one_line(e)


def test_beat_symbols_cover_mitdb_beats() -> None:
    assert {"N", "L", "R", "V", "A", "/", "f", "Q", "F", "j", "E", "a", "J", "e", "S"} <= set(BEAT_SYMBOLS)


def test_mitdb_record() -> None:
    if not (MITDB / "102.hea").is_file():
        pytest.skip(f"raw MIT-BIH records not available at {MITDB}")
    rec = load_record(MITDB / "102")
    assert rec.fs == 360 and rec.lead == "V5" and len(rec.adc) == 650000  # 102 has no MLII
    assert len(rec.ann_samples) == 2187
    rec = load_record(MITDB / "207")
    assert len(rec.vf_intervals) == 6 and rec.lead == "MLII"
