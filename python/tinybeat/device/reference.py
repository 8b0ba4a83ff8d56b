"""The Python reference of a stream: what the board must have computed, and every difference.

The host runs :func:`tinybeat.frontend.run` and the model
(:func:`tinybeat.core.families.predict_scores`) on exactly the samples the
board saw and compares every beat: position, RR fields, features, a checksum
of all classifier inputs, score and class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinybeat.device import protocol
from tinybeat.device.protocol import BeatEvent


@dataclass
class Reference:
    """The Python reference on the board's samples: front-end result, scores and classes per beat."""

    front: object  # frontend.FrontendResult
    scores: np.ndarray
    classes: np.ndarray


def reference(codes: np.ndarray, lead_off: np.ndarray, fs: int, model, threshold: int,
              n_inputs: int) -> Reference:
    """frontend.run on the codes, then the model on every beat with rhythm context (no NO_PRE flag), as the firmware."""
    from tinybeat import frontend
    from tinybeat.core import families

    res = frontend.run(codes, fs, lead_off)
    n = res.n_beats
    scores = np.zeros(n, dtype=np.int64)
    classes = np.full(n, protocol.CLASS_NONE, dtype=np.int64)
    ok = (res.flags & frontend.params.FLAG_NO_PRE) == 0
    if frontend.params.takes_beats(n_inputs) and ok.any():
        s = families.predict_scores(model, res.x[ok][:, :n_inputs])
        scores[ok] = s
        classes[ok] = (s > threshold).astype(np.int64)
    return Reference(res, scores, classes)


def compare(beats: list[BeatEvent], ref: Reference) -> list[str]:
    """One line per difference between the board's beats and the reference (empty = identical)."""
    fr = ref.front
    out = []
    if len(beats) != fr.n_beats:
        out.append(f"the board reported {len(beats)} beats, the reference {fr.n_beats}")
    for i, b in enumerate(beats[:fr.n_beats]):
        x = fr.x[i]
        want = (int(fr.r_sample[i]), int(fr.rr_pre[i]), int(fr.rr_post[i]), int(fr.rr_avg[i]),
                int(fr.hr_x10[i]), int(fr.flags[i]), bytes(x[187:193]), protocol.fletcher16(bytes(x)),
                int(ref.classes[i]), int(ref.scores[i]))
        got = (b.r_sample, b.rr_pre, b.rr_post, b.rr_avg, b.hr_x10, b.flags, bytes(b.features), b.checksum,
               b.klass, b.score)
        if got != want:
            names = ("r_sample", "rr_pre", "rr_post", "rr_avg", "hr_x10", "flags", "features", "checksum",
                     "class", "score")
            diff = ", ".join(f"{n} board {g!r} ref {w!r}" for n, g, w in zip(names, got, want) if g != w)
            out.append(f"beat {i}: {diff}")
    return out
