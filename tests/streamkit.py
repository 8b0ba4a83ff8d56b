"""Builds the firmware for stream tests from the saved model, without retraining.

The project's pre-build hook retrains whenever the pipeline's sources change
(a merge, an edit); the stream tests only need *a* model and its Python
reference, so they build a copy of the firmware sources with the headers
written from model/trained.json (the chosen entry for the board, as
tinybeat.pipeline.ensure selects it) and the hook switched off.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Callable

from projkit import ROOT

PIO = ROOT / ".venv" / "bin" / "pio"


def saved_model_entry(board_id: str):
    """(trained, entry): model/trained.json and the entry pipeline.select_for_board picks for the board."""
    from tinybeat.targets.boards import load_board
    from tinybeat.pipeline.config import load_config
    from tinybeat.pipeline.artifacts import Paths, load_trained
    from tinybeat.pipeline.selection import select_for_board

    paths = Paths(ROOT)
    trained = load_trained(paths)
    if trained is None:
        raise FileNotFoundError(f"{paths.trained} is missing")
    return trained, select_for_board(trained, load_board(ROOT, board_id), load_config(paths.config))


def env_option(env: str, option: str) -> str:
    """An option of [env:<env>] in platformio.ini, following `extends`; "" when absent."""
    import configparser

    ini = configparser.ConfigParser(interpolation=None)
    ini.read(ROOT / "platformio.ini")
    section = f"env:{env}"
    while section and ini.has_section(section):
        if ini.has_option(section, option):
            return ini.get(section, option).strip()
        parent = ini.get(section, "extends", fallback="").strip()
        section = parent if parent else ""
    return ""


def build_firmware(dest: Path, env: str = "megaatmega2560", board_id: str | None = None,
                   header_patch: Callable[[str], str] | None = None,
                   ino_patch: Callable[[str], str] | None = None) -> Path:
    """Build src/avr + lib with the saved model's headers in dest; returns firmware.elf.

    header_patch: edits the model header's text before the build (a test's broken model);
    ino_patch: edits an Arduino example env's .ino before the build (e.g. a sketch option).
    """
    from tinybeat.pipeline.config import load_config
    from tinybeat.pipeline.artifacts import Paths
    from tinybeat.pipeline.ensure import write_headers

    board_id = board_id or env
    dest.mkdir(parents=True, exist_ok=True)
    for sub in ("src", "lib"):
        if (dest / sub).exists():
            shutil.rmtree(dest / sub)
        shutil.copytree(ROOT / sub, dest / sub, ignore=shutil.ignore_patterns("__pycache__"))
    sketch = env_option(env, "custom_sketch")
    if sketch:  # an Arduino example env: the hook (off in this copy) would build that folder as src/
        shutil.rmtree(dest / "src")
        shutil.copytree(ROOT / sketch, dest / "src")
        for ino in (dest / "src").glob("*.ino") if ino_patch else ():
            patched = ino_patch(ino.read_text())
            assert patched != ino.read_text(), "the sketch patch changed nothing"
            ino.write_text(patched)
    (dest / "model").mkdir(exist_ok=True)
    shutil.copy(ROOT / "model" / "config.yaml", dest / "model" / "config.yaml")
    trained, entry = saved_model_entry(board_id)
    headers = dest / "include"  # this copy builds without the pre-build hook: the headers go on the default path
    write_headers(Paths(dest, headers), trained, entry, load_config(Paths(ROOT).config).budget.max_cycles)
    if header_patch is not None:
        header = headers / "tinybeat_model.h"
        text = header.read_text()
        patched = header_patch(text)
        assert patched != text, "the header patch changed nothing"
        header.write_text(patched)
    ini = (ROOT / "platformio.ini").read_text()
    ini = re.sub(r"(?m)^core_dir\s*=.*$", f"core_dir = {ROOT / '.platformio'}", ini)
    ini = re.sub(r"(?m)^extra_scripts\s*=.*$", "", ini)
    (dest / "platformio.ini").write_text(ini)
    run = subprocess.run([str(PIO), "run", "-e", env], cwd=dest, capture_output=True, text=True, timeout=600)
    if run.returncode:
        raise RuntimeError(f"pio run -e {env} failed:\n{run.stdout[-3000:]}\n{run.stderr[-2000:]}")
    return dest / ".pio" / "build" / env / "firmware.elf"
