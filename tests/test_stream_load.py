"""Serial under load: a host that keeps the link busy while the board streams from its ADC.

The firmware streams a synthetic ECG (a beat every 0.5 s) played on the simulated
board's A0 while the host sends requests back to back, one at a time (INFER with a
full beat, INFO, STATS, STREAM_STATS): every request must get its own correct reply,
no received byte may be lost (stream stats rx_lost 0), no sample missed, and every
beat must still equal the Python reference. The recording plays in real time
(avr-vboard --adc-realtime) so the host's round trips are short against the
line: the link is busy most of the time. 20 simulated seconds here; the issue's
10-minute run is `TINYBEAT_LOAD_S=600` (README "Serial protocol" quotes its numbers).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

import streamkit
from projkit import ROOT
from tinybeat.device import board_run, feed, link, protocol, reference, session
from tinybeat.device.vboard import vboard_path
from tinybeat.frontend import analog
from tinybeat.targets.boards import load_board

VBOARD = vboard_path(ROOT)
BYTE_S = 10 / 115200  # one 8N1 byte on the wire, seconds
pytestmark = [
    pytest.mark.skipif(shutil.which("avr-gcc") is None, reason="avr-gcc missing"),
    pytest.mark.skipif(not VBOARD.is_file(), reason=f"{VBOARD} is missing (./run.sh setup)"),
    pytest.mark.skipif(not streamkit.PIO.is_file(), reason=f"{streamkit.PIO} is missing"),
    pytest.mark.skipif(not (ROOT / "model" / "trained.json").is_file(), reason="no saved model"),
]


def regular_ecg_mv(fs: int, seconds: float, rr_s: float = 0.5, seed: int = 7) -> np.ndarray:
    """Module output (mV at the pin, int32 (n,)): a beat every rr_s seconds, every 7th one wide."""
    rng = np.random.default_rng(seed)
    n = int(seconds * fs)
    t = np.arange(n) / fs
    ecg = 0.03 * np.sin(2 * np.pi * 0.3 * t)
    for k, r in enumerate(np.arange(0.4, seconds - 0.5, rr_s)):
        wide = k % 7 == 6
        for dt, amp, width in ((-0.12, 0.1, 0.02), (-0.02, -0.1, 0.008), (0.0, 0.9 if wide else 1.2,
                               0.03 if wide else 0.011), (0.025, -0.25, 0.01), (0.2, 0.3, 0.04)):
            ecg += amp * np.exp(-0.5 * ((t - r - dt) / width) ** 2)
    ecg += rng.normal(0, 0.01, n)
    return np.clip(np.round(analog.REF_MV + analog.GAIN_V_PER_V * ecg), 0, analog.SUPPLY_MV).astype(np.int32)


@dataclass
class LoadRun:
    """What a loaded stream produced: the board run, the requests and their replies."""

    run: board_run.BoardRun
    requests: int = 0
    request_bytes: int = 0
    reply_bytes: int = 0
    bad: list[str] = field(default_factory=list)


def loaded_stream(elf: Path, sig: feed.Signal, beat: bytes, window: int) -> LoadRun:
    """Play sig on A0 (in real time) and keep the link busy with requests until the board has processed it all.

    window: requests on the way at once (1: one at a time, each sent when the previous one's reply
    arrived; 2: the next request is already on the wire while the board answers, so the line never idles).
    """
    board = load_board(ROOT, "megaatmega2560")
    out = LoadRun(board_run.BoardRun())
    with tempfile.TemporaryDirectory(prefix="tinybeat-load-") as tmp:
        adc = Path(tmp) / "adc.bin"
        adc.write_bytes(feed.adc_file_bytes(sig))
        cmd = [str(VBOARD), "--mcu", board.mcu, "--freq", str(board.f_cpu), "--timeout", str(int(sig.n / sig.fs) + 600),
               "--adc-file", str(adc), "--adc-rate", str(sig.fs), "--adc-tail-s", "3", "--adc-realtime", str(elf)]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            ses = session.Session(link.ProcessLink(proc), board_run.Recorder(out.run))
            out.run.info = ses.wait_ready()
            want_infer = ses.request(protocol.INFER, beat).payload[:1]  # the class, before streaming
            ses.request(protocol.STREAM_START, protocol.encode_stream_start(protocol.SRC_ADC, 0, sig.fs))
            mix = [(protocol.INFER, beat), (protocol.INFO, b""), (protocol.INFER, beat), (protocol.STATS, b""),
                   (protocol.INFER, beat), (protocol.STREAM_STATS, b"")]
            pending: deque[tuple[int, int]] = deque()  # (seq, type) sent, reply not yet seen
            sent, last = 0, time.monotonic()
            while not (out.run.status and out.run.status[-1].samples >= sig.n) or pending:
                streaming = not (out.run.status and out.run.status[-1].samples >= sig.n)
                while streaming and len(pending) < window:
                    type_, payload = mix[sent % len(mix)]
                    seq, ses.seq = ses.seq, (ses.seq + 1) & 0xFF
                    ses.link.write(protocol.encode_frame(type_, seq, payload))
                    pending.append((seq, type_))
                    sent += 1
                    out.request_bytes += len(payload) + protocol.HEADER_SIZE + protocol.CRC_SIZE
                for f in ses.pump(0.05):
                    want = pending.popleft() if pending else None
                    if want is None or f.seq != want[0] or f.type != protocol.reply_type(want[1]):
                        out.bad.append(f"reply {f} to request {want}")
                        continue
                    last = time.monotonic()
                    out.requests += 1
                    out.reply_bytes += len(f.payload) + protocol.HEADER_SIZE + protocol.CRC_SIZE
                    if want[1] == protocol.INFER and f.payload[:1] != want_infer:
                        out.bad.append(f"INFER {out.requests}: class {f.payload[:1]!r}, before streaming "
                                       f"{want_infer!r}")
                if out.bad or time.monotonic() - last > 30 or proc.poll() is not None:
                    out.bad.append(f"stopped with {len(pending)} requests unanswered (board exit {proc.poll()})")
                    break
            out.run.lost_events = ses.lost_events
            if proc.poll() is None and not out.bad:  # (after a bad reply the sequence is lost: report that)
                out.run.final = protocol.decode_stream_stats(ses.request(protocol.STREAM_STOP).payload)
        finally:
            proc.kill()
            proc.wait()
    return out


@pytest.fixture(scope="module")
def elf(tmp_path_factory) -> Path:
    return streamkit.build_firmware(tmp_path_factory.mktemp("fw"))


@pytest.mark.parametrize("window", [1, 2])
def test_requests_back_to_back_while_streaming_lose_nothing(elf: Path, window: int) -> None:
    """INFER/INFO/STATS/STREAM_STATS back to back during an ADC stream: every reply right, 0 bytes lost,
    0 samples missed, every beat equal to the reference."""
    seconds = float(os.environ.get("TINYBEAT_LOAD_S", "20"))
    fs = 360
    sig = feed.Signal("regular", fs, regular_ecg_mv(fs, seconds), np.zeros(int(fs * seconds), dtype=bool))
    trained, entry = streamkit.saved_model_entry("megaatmega2560")
    beat = bytes(np.random.default_rng(3).integers(0, 256, trained.n_inputs, dtype=np.uint8))
    t0 = time.monotonic()
    load = loaded_stream(elf, sig, beat, window)
    fin = load.run.final
    assert not load.bad, load.bad[:3]
    assert fin is not None
    busy = (load.request_bytes + load.reply_bytes) * BYTE_S / seconds
    print(f"\nwindow {window}: {seconds:g} simulated s, {load.requests} requests, {load.request_bytes} B in, {load.reply_bytes} B out "
          f"(link busy {100 * load.request_bytes * BYTE_S / seconds:.0f} % in), {len(load.run.beats)} beats; "
          f"rx_lost {fin.rx_lost}, rx ring high-water {fin.rx_ring_max} B, tx high-water {fin.tx_ring_max} B, "
          f"tx waits {fin.tx_waits}, missed {fin.missed}, wall {time.monotonic() - t0:.0f} s")
    assert busy > 0
    assert fin.rx_lost == 0 and fin.missed == 0 and fin.engine_errors == 0
    assert fin.rx_ring_max < 64  # the receive ring never filled
    assert load.requests >= seconds  # the host kept asking: at least one request per simulated second
    codes, lead = feed.board_samples(sig, fin.samples)
    ref = reference.reference(codes, lead, fs, entry.model, entry.decision_threshold, trained.n_inputs)
    assert reference.compare(load.run.beats, ref) == []
    assert ref.front.n_beats >= 2 * seconds - 8  # a beat every 0.5 s (the detector learns for ~2 s)
    assert load.run.lost_events == 0
