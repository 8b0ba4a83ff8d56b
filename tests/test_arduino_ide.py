"""The Arduino IDE path, offline: Debian's arduino-builder (the Arduino IDE 1.8 builder, 1.3.25)
compiles both example sketches for the Mega and the Uno from the library installed exactly as
README "Arduino IDE" tells a user: the folders its step 2 names copied into a sketchbook's
`libraries`, the board's generated tinybeat_model.h copied into `TinyBeatArduino/src/`.

Skips when arduino-builder is not installed (`apt-get install arduino-builder`; ./run.sh setup
installs it). Everything is built in a temporary sketchbook, never in the checkout.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import streamkit
from projkit import ROOT

BUILDER = shutil.which("arduino-builder")
HARDWARE = Path("/usr/share/arduino/hardware")  # Debian's arduino-core-avr
BUILDER_DIR = Path("/usr/share/arduino-builder")  # its ctags recipe (platform.txt)
FQBN = {"megaatmega2560": "arduino:avr:mega:cpu=atmega2560", "uno": "arduino:avr:uno"}
SKETCHES = ("SerialClassifier", "HeartMonitor")
pytestmark = [
    pytest.mark.skipif(BUILDER is None, reason="arduino-builder is not installed (apt-get install arduino-builder)"),
    pytest.mark.skipif(not (HARDWARE / "arduino" / "avr" / "boards.txt").is_file(),
                       reason=f"{HARDWARE}/arduino/avr is missing (apt-get install arduino-core-avr)"),
    pytest.mark.skipif(not (ROOT / "model" / "trained.json").is_file(), reason="no saved model"),
]


def readme_libraries() -> list[str]:
    """The folders README's "Arduino IDE" step 2 tells a user to copy (lib/<name>, in order)."""
    text = (ROOT / "README.md").read_text()
    section = text.split("### Arduino IDE", 1)[1].split("\n### ", 1)[0]
    step2 = section.split("\n2. ", 1)[1].split("\n3. ", 1)[0]
    return re.findall(r"`lib/([A-Za-z0-9_]+)`", step2)


def model_header(board_id: str, dest: Path) -> Path:
    """The board's tinybeat_model.h, written as the pio hook writes it (saved model, no training)."""
    from tinybeat.pipeline.artifacts import Paths
    from tinybeat.pipeline.config import load_config
    from tinybeat.pipeline.ensure import write_headers

    trained, entry = streamkit.saved_model_entry(board_id)
    write_headers(Paths(dest, dest / "include"), trained, entry, load_config(Paths(ROOT).config).budget.max_cycles)
    return dest / "include" / "tinybeat_model.h"


def compile_sketch(sketchbook: Path, sketch: str, fqbn: str, build: Path) -> subprocess.CompletedProcess:
    build.mkdir(parents=True)
    ino = sketchbook / "libraries" / "TinyBeatArduino" / "examples" / sketch / f"{sketch}.ino"
    # Debian's core with its avr-gcc 5.4 lacks DECIMAL_DIG in <float.h> for C++ (WString.cpp): the same
    # define the project's PlatformIO build adds (pio/platforms/atmelavr/builder/frameworks/arduino.py)
    cmd = [BUILDER, "-compile", "-hardware", str(HARDWARE), "-hardware", str(BUILDER_DIR), "-tools", str(BUILDER_DIR),
           "-libraries", str(sketchbook / "libraries"), "-fqbn", fqbn, "-build-path", str(build),
           "-warnings", "all", "-prefs", "compiler.cpp.extra_flags=-DDECIMAL_DIG=__DECIMAL_DIG__", str(ino)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def test_readme_names_every_library_the_sketches_need() -> None:
    libs = readme_libraries()
    assert libs[0] == "TinyBeatArduino" and {"tinybeat", "tbproto", "tbavr", "tbfront", "tbsampler"} <= set(libs), libs
    for name in libs:
        assert (ROOT / "lib" / name).is_dir(), f"README names lib/{name}, which does not exist"


@pytest.mark.parametrize("board_id", ["megaatmega2560", "uno"])
def test_examples_compile_with_arduino_builder(board_id: str, tmp_path: Path) -> None:
    sketchbook = tmp_path / "Arduino"
    for name in readme_libraries():  # step 2: copy these folders into the sketchbook's libraries
        shutil.copytree(ROOT / "lib" / name, sketchbook / "libraries" / name)
    # step 3: the board's model header into the library's src/
    shutil.copy(model_header(board_id, tmp_path / "model"), sketchbook / "libraries" / "TinyBeatArduino" / "src")
    for sketch in SKETCHES:
        run = compile_sketch(sketchbook, sketch, FQBN[board_id], tmp_path / f"build-{sketch}")
        out = run.stdout + run.stderr
        assert run.returncode == 0, f"{sketch} for {board_id}:\n{out[-4000:]}"
        assert (tmp_path / f"build-{sketch}" / f"{sketch}.ino.hex").stat().st_size > 1000
        ours = [ln for ln in out.splitlines() if "warning:" in ln and str(sketchbook) in ln]
        assert ours == [], ours[:5]  # the library compiles without a warning at -Wall -Wextra
        flash = re.search(r"Sketch uses (\d+) bytes", out)
        ram = re.search(r"Global variables use (\d+) bytes", out)
        assert flash and ram, out[-2000:]
        print(f"{board_id} {sketch}: {flash.group(1)} B flash, {ram.group(1)} B static RAM")
