"""The firmware gives no verdict the engine refused, on the simulated ATmega2560.

A firmware built from the saved model with its descriptor's family code changed to one no
kernel serves (200): every engine call returns TB_ERR_FAMILY, so INFER is answered with an
ERROR frame (E_ENGINE: request type, engine status), a SAMPLES request that completed a beat
likewise, and the BEAT events carry class 0xFF (no verdict). Wrong input lengths are covered
by tests/test_firmware.py (the engine's TB_ERR_INPUT_LENGTH through INFER).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

import streamkit
from projkit import ROOT
from test_stream import synthetic_mv
from tinybeat.device import board_run, feed, link, protocol
from tinybeat.device.session import Session
from tinybeat.device.vboard import vboard_path
from tinybeat.targets.boards import load_board

VBOARD = vboard_path(ROOT)
pytestmark = [
    pytest.mark.skipif(shutil.which("avr-gcc") is None, reason="avr-gcc missing"),
    pytest.mark.skipif(not VBOARD.is_file(), reason=f"{VBOARD} is missing (./run.sh setup)"),
    pytest.mark.skipif(not streamkit.PIO.is_file(), reason=f"{streamkit.PIO} is missing"),
    pytest.mark.skipif(not (ROOT / "model" / "trained.json").is_file(), reason="no saved model"),
]
UNKNOWN_FAMILY = 200


def _unknown_family(header: str) -> str:
    return re.sub(r"(?m)^\t\.family = \d+,$", f"\t.family = {UNKNOWN_FAMILY},", header)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory):
    elf = streamkit.build_firmware(tmp_path_factory.mktemp("fw"), header_patch=_unknown_family)
    board = load_board(ROOT, "megaatmega2560")
    proc = subprocess.Popen([str(VBOARD), "--mcu", board.mcu, "--freq", str(board.f_cpu), "--timeout", "300",
                             str(elf)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        run = board_run.BoardRun()
        ses = Session(link.ProcessLink(proc), board_run.Recorder(run))
        info = ses.wait_ready()
        yield ses, info, run
    finally:
        proc.kill()
        proc.wait()


def _raw(ses: Session, type_: int, seq: int, payload: bytes = b"") -> protocol.Frame:
    ses.link.write(protocol.encode_frame(type_, seq, payload))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for f in ses.pump(0.05):
            if f.seq == seq:
                return f
    raise AssertionError(f"no reply to {type_:#x} seq {seq}")


def _assert_engine_error(f: protocol.Frame, request_type: int) -> None:
    assert (f.type, f.error) == (protocol.ERROR, protocol.E_ENGINE), f
    assert protocol.decode_engine_error_reply(f.payload) == (request_type, protocol.EngineStatus.TB_ERR_FAMILY)


def test_infer_gets_an_engine_error_not_a_verdict(session) -> None:
    ses, info, _ = session
    # (INFO still reports TB_MODEL_FAMILY, the header's define: only the descriptor was changed)
    _assert_engine_error(_raw(ses, protocol.INFER, 0, bytes(range(info.n_inputs))), protocol.INFER)
    stats = protocol.decode_stats_reply(_raw(ses, protocol.STATS, 1).payload)
    assert stats.count == 0, "a refused inference was counted"
    assert _raw(ses, protocol.INFO, 2).type == protocol.INFO | protocol.REPLY


def test_stream_beats_get_no_verdict_and_samples_an_engine_error(session) -> None:
    ses, _, run = session
    fs = 360
    f = _raw(ses, protocol.STREAM_START, 0, protocol.encode_stream_start(protocol.SRC_HOST, 0, fs))
    assert f.type == protocol.STREAM_START | protocol.REPLY, f
    mv = synthetic_mv(fs, 12, seed=3)
    values = feed.host_samples(feed.Signal("host", fs, mv, np.zeros(len(mv), dtype=bool)))
    refused = ok = 0
    seq = 1
    for i in range(0, len(values), protocol.SAMPLES_MAX):
        f = _raw(ses, protocol.SAMPLES, seq, protocol.encode_samples(values[i:i + protocol.SAMPLES_MAX]))
        if f.type == protocol.ERROR:
            _assert_engine_error(f, protocol.SAMPLES)
            refused += 1
        else:
            assert f.type == protocol.SAMPLES | protocol.REPLY, f
            ok += 1
        seq = (seq + 1) & 0xFF or 1
    _raw(ses, protocol.STREAM_STOP, seq)
    beats = run.beats
    classified = [b for b in beats if not b.flags & 1]  # flag 1: no RR before, never classified
    assert len(classified) >= 5, f"only {len(beats)} beats found in 12 s of synthetic ECG"
    assert all(b.klass == protocol.CLASS_NONE and b.score == 0 for b in beats), "a refused beat got a verdict"
    assert refused == len(classified) and ok > refused
