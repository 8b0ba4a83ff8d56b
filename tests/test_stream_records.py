"""Whole MIT-BIH records (30 min each) streamed through the simulated board's ADC.

Runs only when ../shared/data/mitdb exists: records 208 (many ventricular
beats), 107 (paced) and 100, about 50 s each (simulated ATmega2560 at 16 MHz
plus the Python reference; 150 s for the three measured on 2 shared cores).
TINYBEAT_STREAM_RECORDS=... (a comma-separated list) streams others. Every beat must equal the Python reference,
no sample interrupt may be missed, and the worst 1-s CPU load stays within 10 %.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from projkit import ROOT
from test_stream import Fw, fw  # noqa: F401  (the module-scoped firmware fixture)

MITDB = ROOT.parent / "shared" / "data" / "mitdb"
RECORDS = [r.strip() for r in os.environ.get("TINYBEAT_STREAM_RECORDS", "208,107,100").split(",") if r.strip()]
pytestmark = pytest.mark.skipif(not (MITDB / "208.hea").is_file(), reason=f"{MITDB} is absent")


@pytest.mark.parametrize("record", RECORDS)
def test_full_record_equals_reference(fw: Fw, record: str, tmp_path: Path, capsys) -> None:  # noqa: F811
    from tinybeat.cli import main

    rc = main(["stream", str(MITDB / record), "--project", str(ROOT), "--elf", str(fw.elf),
               "--out", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0, out
    s = json.loads((tmp_path / f"{record}.json").read_text())
    assert s["seconds"] > 1800 and s["mismatches"] == 0
    assert s["board"]["missed_sample_interrupts"] == 0 and s["board"]["lost_events"] == 0
    assert s["detection"]["available"] and s["detection"]["se"] > 0.95 and s["detection"]["ppv"] > 0.95
    assert s["cpu_load"]["worst_1s"] <= 0.10
    print(out)
