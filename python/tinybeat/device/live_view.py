"""The live view of a stream in a terminal: a line per second, the ECG when the host has it, each beat's verdict.

A second is drawn once the board has reported one more second of samples (a
beat is reported about 0.5 s after its R peak), as two plain lines:

    12 s  HR  71.8 bpm  |▁▁▁▂▁▁▁▁█▂▁▁▁▁▂▃▂▁▁▁▁▁▁▁▁▁▁▁▁▁▁█▂▁▁▁▁▁▂▃▂▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁|
                        |        N                      A                    |

N normal, A abnormal, ? unclassified (no rhythm context, or refused); signal
state changes (lead-off, flat, saturated) get a line of their own.
"""

from __future__ import annotations

import sys
from typing import TextIO

import numpy as np

from tinybeat.device.protocol import BeatEvent, SignalEvent, StreamStats
from tinybeat.device.stream_scores import SIGNAL_NAMES

WIDTH = 60  # characters per second of ECG
BLOCKS = "▁▂▃▄▅▆▇█"
MARKS = {0: "N", 1: "A"}  # any other class: "?"


class LiveView:
    """Draws a stream second by second on ``out`` (see the module docstring).

    fs: samples per second; codes: uint16 (n,) the ADC codes fed (None: no trace);
    start_s: the record time of sample 0 (for the labels).
    """

    def __init__(self, fs: int, out: TextIO | None = None, codes: np.ndarray | None = None, start_s: float = 0.0):
        self.fs, self.out, self.codes, self.start_s = fs, out or sys.stdout, codes, start_s
        self.beats: dict[int, list[BeatEvent]] = {}
        self.signals: dict[int, list[SignalEvent]] = {}
        self.shown = 0  # seconds drawn
        self.hr_x10 = 0
        self.lines = 0
        self.limit = None if codes is None else -(-len(codes) // fs)  # seconds there are to draw

    def beat(self, b: BeatEvent) -> None:
        self.beats.setdefault(b.r_sample // self.fs, []).append(b)

    def signal(self, e: SignalEvent) -> None:
        self.signals.setdefault(e.sample // self.fs, []).append(e)

    def status(self, st: StreamStats) -> None:
        self.draw_until(st.samples // self.fs - 1)

    def draw_until(self, seconds: int) -> None:
        """Draw every complete second before ``seconds``."""
        if self.limit is not None:
            seconds = min(seconds, self.limit)
        while self.shown < seconds:
            self._second(self.shown)
            self.shown += 1

    def finish(self, samples: int) -> None:
        self.draw_until(-(-samples // self.fs))

    def _second(self, k: int) -> None:
        beats = self.beats.pop(k, [])
        for b in beats:
            if b.hr_x10:
                self.hr_x10 = b.hr_x10
        hr = f"HR {self.hr_x10 / 10:5.1f} bpm" if self.hr_x10 else "HR   -   bpm"
        label = f"{self.start_s + k:7.0f} s  {hr}  "
        marks = [" "] * WIDTH
        for b in beats:
            marks[min(WIDTH - 1, (b.r_sample - k * self.fs) * WIDTH // self.fs)] = MARKS.get(b.klass, "?")
        if self.codes is not None:
            self._emit(label + "|" + trace(self.codes, k * self.fs, self.fs) + "|")
            self._emit(" " * len(label) + "|" + "".join(marks) + "|")
        else:
            self._emit(label + "|" + "".join(marks) + "|")
        for e in self.signals.pop(k, []):
            self._emit(f"{self.start_s + e.sample / self.fs:7.1f} s  signal: {SIGNAL_NAMES.get(e.signal, e.signal)}")

    def _emit(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()
        self.lines += 1


def trace(codes: np.ndarray, a: int, fs: int, context_s: int = 5) -> str:
    """One second of codes from sample a as WIDTH block characters (the highest code per column),
    scaled to the range of the surrounding ``context_s`` seconds."""
    seg = codes[a:a + fs].astype(np.int64)
    if seg.size == 0:
        return " " * WIDTH
    around = codes[max(0, a - context_s * fs // 2):a + fs + context_s * fs // 2].astype(np.int64)
    live = around[around > 0]  # lead-off reads 0: not part of the ECG's range
    lo, hi = (int(np.percentile(live, 1)), int(live.max())) if live.size else (0, 1)
    cols = np.array_split(seg, WIDTH) if seg.size >= WIDTH else [seg[[min(i * seg.size // WIDTH, seg.size - 1)]]
                                                                 for i in range(WIDTH)]
    out = []
    for c in cols:
        v = (int(c.max()) - lo) * (len(BLOCKS) - 1) // max(hi - lo, 1)
        out.append(BLOCKS[min(max(v, 0), len(BLOCKS) - 1)])
    return "".join(out).ljust(WIDTH)
