"""The AVR firmware: no soft-float, small static RAM, and the UART protocol on the virtual board.

Builds the firmware with `pio run -e megaatmega2560` in a snapshot of the
project (projkit.project_copy: a concurrent `pio run` in the checkout cannot
lock the env or retrain under the tests; the pre-build hook only reloads the
saved model when it is up to date). When the
project's saved model is stale or being retrained by someone else, that build
would start a multi-minute training of the default dataset; the tests then
build the same sources in a throw-away copy of the project with a tiny
synthetic dataset instead (reported in the test output). Setting
TINYBEAT_TEST_FIRMWARE_COPY=1 forces that copy.

The firmware runs on avr-vboard (simavr) with UART0 on a pseudo-terminal;
tinybeat.device.client.Device talks to it exactly as to a real board.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pytest

from projkit import ROOT, c_define, main_model_state, pio_project, project_copy
from tinybeat.device import client
from tinybeat.core import families
from tinybeat.device import protocol
from tinybeat.device.measure import avr_size
from tinybeat.targets.boards import Board, load_board
from tinybeat.pipeline.config import load_config
from tinybeat.datasets.table import load_files
from tinybeat.pipeline.artifacts import Paths, load_trained
from tinybeat.pipeline.ensure import fingerprint
from tinybeat.pipeline.selection import select_for_board
from tinybeat.device.protocol import Frame
from tinybeat.core.quantize import quantize_inputs
from tinybeat.device.vboard import VirtualBoard, vboard_path
from tinybeat.targets.avr import ALIGNED_INPUT_MIN_RAM, DESCRIPTOR_RAM_BYTES

ENV = "megaatmega2560"
PIO = ROOT / ".venv" / "bin" / "pio"
SOFT_FLOAT = ("__addsf3", "__subsf3", "__mulsf3", "__divsf3", "__fixsfsi", "__floatsisf", "__floatunsisf",
              "__fixunssfsi", "__ltsf2", "__gtsf2", "__cmpsf2")
RAM_LIMIT = 2048 - 256  # static RAM the firmware may use, bytes: stream mode (front end state,
# beat, ring) + INFER fit an Uno's 2 KB with 256 B left for the stack
N_BEATS = 50

TOOLS = {name: shutil.which(name) for name in ("avr-gcc", "avr-nm", "avr-size")}
pytestmark = [
    pytest.mark.skipif(not all(TOOLS.values()),
                       reason=f"AVR toolchain missing: {[n for n, p in TOOLS.items() if not p]}"),
    pytest.mark.skipif(not vboard_path(ROOT).is_file(), reason=f"{vboard_path(ROOT)} is missing (./run.sh setup)"),
    pytest.mark.skipif(not PIO.is_file(), reason=f"{PIO} is missing"),
]


@dataclass
class Firmware:
    """A built firmware and what it should compute."""

    project: Path
    elf: Path            # a private copy: later builds in the project cannot swap it under the tests
    board: Board
    header: str          # text of the env's generated tinybeat_model.h the firmware was built with
    model: families.IntModel
    threshold: int
    X: np.ndarray        # uint8 (N_BEATS, n_inputs) test beats
    y: np.ndarray
    where: str           # "project" or the reason for the fallback copy


_main_model_state = main_model_state  # (test_arduino imports it from here)


def _fallback_project(dest: Path) -> Path:
    """A copy of the firmware sources with a tiny synthetic dataset of 187 inputs."""
    return pio_project(dest)


def _test_beats(project: Path, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n evenly spaced beats of the project's test split (both classes), quantized."""
    paths = Paths(project)
    cfg = load_config(paths.config)
    d = cfg.data
    if d.test:
        table = load_files([project / f for f in d.test], fmt=d.format, target=d.target, group=d.group,
                           positive_labels=d.positive_labels, input_range=d.input_range)
    else:
        from tinybeat.pipeline.tables import load_tables

        table = load_tables(paths, cfg)[1]
    picks = []
    for cls in (0, 1):
        idx = np.flatnonzero(table.y == cls)
        picks += idx[np.linspace(0, idx.size - 1, n // 2).astype(int)].tolist()
    picks = sorted(set(picks))
    return quantize_inputs(table.X[picks], d.input_range), table.y[picks]


@pytest.fixture(scope="module")
def firmware(tmp_path_factory: pytest.TempPathFactory) -> Firmware:
    """Build the firmware (a snapshot of the project, or a synthetic copy if that would retrain) and load its model."""
    reason = "TINYBEAT_TEST_FIRMWARE_COPY is set" if os.environ.get("TINYBEAT_TEST_FIRMWARE_COPY") else \
        _main_model_state()
    if reason is None:  # a snapshot, not the checkout: a `pio run` there cannot lock or retrain under us
        project, where = project_copy(tmp_path_factory.mktemp("fw") / "proj"), "project"
    else:
        project, where = _fallback_project(tmp_path_factory.mktemp("fw") / "proj"), reason
        warnings.warn(f"test_firmware built a synthetic copy of the project: {reason}", stacklevel=1)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PLATFORMIO_NO_ANSI": "true"}
    run = subprocess.run([str(PIO), "run", "-e", ENV], cwd=project, capture_output=True, text=True,
                         env=env, timeout=900)
    assert run.returncode == 0, f"pio run failed in {project}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    elf = tmp_path_factory.mktemp("elf") / "firmware.elf"
    shutil.copy2(project / ".pio" / "build" / ENV / "firmware.elf", elf)
    header = (project / ".pio" / "build" / ENV / "tinybeat" / "tinybeat_model.h").read_text()

    paths = Paths(project)
    cfg = load_config(paths.config)
    board = load_board(project, ENV)
    entry = select_for_board(load_trained(paths), board, cfg)  # as client.evaluate_main picks it
    model = entry.model
    assert json.loads(c_define(header, "TB_MODEL_NAME")) == entry.name, \
        "the header and model/trained.json disagree (was the model retrained meanwhile?)"
    X, y = _test_beats(project, N_BEATS)
    return Firmware(project, elf, board, header, model, entry.decision_threshold, X, y, where)


@pytest.fixture(scope="module")
def vboard(firmware: Firmware) -> Iterator[VirtualBoard]:
    # VirtualBoard finds avr-vboard under <project>/.platformio: the root's, also for the copy
    with VirtualBoard(ROOT, firmware.elf, firmware.board) as vb:
        yield vb


@pytest.fixture
def dev(vboard: VirtualBoard) -> Iterator[client.Device]:
    """A Device on the virtual board, with nothing pending and the sequence restarted."""
    with client.Device(vboard.port) as device:
        device.wait_ready()
        _read_frames(device, lambda frames: False, timeout_s=0.1)  # drain
        device.seq = 0
        yield device


# ---- raw frame helpers ---------------------------------------------------------------------

# How long to wait for replies that should come: generous, since it ends as soon as they do, and a
# loaded host slows the simulated board (paced to real time at best). Not a speed limit.
REPLY_WAIT_S = 30.0


def _read_frames(device: client.Device, done: Callable[[list[Frame]], bool],
                 timeout_s: float = REPLY_WAIT_S) -> list[Frame]:
    """Frames received until done(frames) or the timeout (a fresh parser: no state shared)."""
    parser = protocol.FrameParser()
    frames: list[Frame] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        data = device.serial.read(device.serial.in_waiting or 1)
        for out in parser.feed(data):
            if isinstance(out, Frame):
                frames.append(out)
        if done(frames):
            break
    return frames


def _exchange(device: client.Device, raw: bytes, timeout_s: float = REPLY_WAIT_S) -> Frame:
    """Send raw bytes and return the first reply frame."""
    device.serial.write(raw)
    frames = _read_frames(device, lambda f: len(f) >= 1, timeout_s)
    assert frames, f"no reply within {timeout_s} s"
    return frames[0]


def _assert_error(frame: Frame, code: int, seq: int, request_type: int) -> None:
    assert frame.type == protocol.ERROR, frame
    assert (frame.error, frame.seq) == (code, seq), frame
    assert protocol.decode_error_reply(frame.payload) == request_type, frame


def _info_ok(device: client.Device, seq: int = 0) -> protocol.DeviceInfo:
    frame = _exchange(device, protocol.encode_frame(protocol.INFO, seq))
    assert (frame.type, frame.seq, frame.error) == (protocol.INFO | protocol.REPLY, seq, 0), frame
    return protocol.decode_info_reply(frame.payload)


# ---- the binary ------------------------------------------------------------------------------

def test_no_soft_float_linked(firmware: Firmware) -> None:
    """Integer-only: none of avr-libc's soft-float routines is in the firmware."""
    out = subprocess.run([TOOLS["avr-nm"], str(firmware.elf)], capture_output=True, text=True, check=True).stdout
    symbols = {line.split()[-1] for line in out.splitlines() if line.strip()}
    assert "main" in symbols and "tb_model_predict" in symbols, "avr-nm did not list the firmware's symbols"
    linked = sorted(set(SOFT_FLOAT) & symbols)
    assert not linked, f"soft-float routines linked: {linked}"


def _symbol_sizes(elf: Path) -> dict[str, int]:
    """avr-nm -S: symbol name -> size in bytes (symbols with a size only)."""
    out = subprocess.run([TOOLS["avr-nm"], "-S", str(elf)], capture_output=True, text=True, check=True).stdout
    return {parts[3]: int(parts[1], 16) for parts in (line.split() for line in out.splitlines()) if len(parts) == 4}


def test_only_the_models_kernel_links(firmware: Firmware) -> None:
    """The descriptor names its family's checked kernel: no other family's kernel is in the firmware."""
    symbols = _symbol_sizes(firmware.elf)
    own = firmware.model.c_source().kernel
    checked = {m.group(1) for src in (ROOT / "lib" / "tinybeat").glob("*.c")
               for m in re.finditer(r"^tb_status_t (tb_\w+)_checked\(", src.read_text(), flags=re.M)}
    assert own in checked, f"lib/tinybeat has no {own}_checked"
    assert {own, own + "_checked"} <= symbols.keys()
    others = sorted(name for k in checked - {own} for name in (k, k + "_checked") if name in symbols)
    assert not others, f"kernels of other families linked: {others}"


def test_model_ram_is_as_declared(firmware: Firmware) -> None:
    """The descriptor and its parameter struct are the model's RAM, as declared (INFO reports it)."""
    symbols = _symbol_sizes(firmware.elf)
    ram = symbols["tb_model"] + symbols["tb_model_params"]
    assert symbols["tb_model"] == DESCRIPTOR_RAM_BYTES == 11, "sizeof(tb_model_t) on AVR"
    assert ram <= int(c_define(firmware.header, "TB_MODEL_RAM_BYTES")) == DESCRIPTOR_RAM_BYTES + firmware.model.ram_bytes()


def _symbol_addresses(elf: Path) -> dict[str, int]:
    """avr-nm: symbol name -> address (data symbols sit at 0x800000 + their SRAM address)."""
    out = subprocess.run([TOOLS["avr-nm"], str(elf)], capture_output=True, text=True, check=True).stdout
    return {parts[2]: int(parts[0], 16) for parts in (line.split() for line in out.splitlines()) if len(parts) == 3}


def test_static_ram_is_small(firmware: Firmware) -> None:
    """The model's arrays stay in flash; .data + .bss stays within RAM_LIMIT plus, on a board that
    aligns its input buffers to 256 B for the tree kernels (TB_INPUT_ALIGN), that buffer's copy and
    the alignment padding of it and of the stream beat (at most 200 + 2 x 255 B)."""
    arrays = {name: at for name, at in _symbol_addresses(firmware.elf).items()
              if name.startswith("tb_model_") and name != "tb_model_params" and not name.endswith("_chunks")}
    assert arrays and all(at < 0x800000 for at in arrays.values()), arrays
    sizes = avr_size(firmware.elf)
    assert ".text" in sizes and ".bss" in sizes, sizes
    used = sizes.get(".data", 0) + sizes[".bss"]
    limit = RAM_LIMIT + (200 + 2 * 255 if firmware.board.ram_bytes >= ALIGNED_INPUT_MIN_RAM else 0)
    assert used <= limit, f"static RAM {used} B (.data {sizes.get('.data', 0)} + .bss {sizes['.bss']})"


# ---- the protocol on the virtual board ------------------------------------------------------

def test_info_reports_the_built_model(firmware: Firmware, dev: client.Device) -> None:
    """INFO: model name, inputs, fingerprint, family, flash size and clock from the header; static RAM."""
    info = dev.info()
    h = firmware.header
    assert info.name == json.loads(c_define(h, "TB_MODEL_NAME"))
    assert info.n_inputs == int(c_define(h, "TB_MODEL_N_INPUTS")) == firmware.X.shape[1]
    assert info.fingerprint_hex == json.loads(c_define(h, "TB_MODEL_FINGERPRINT"))
    assert info.family == int(c_define(h, "TB_MODEL_FAMILY"))
    assert info.model_flash_bytes == int(c_define(h, "TB_MODEL_FLASH_BYTES").rstrip("UL"))
    assert info.proto_version == protocol.PROTO_VERSION
    assert info.f_cpu_hz == firmware.board.f_cpu
    assert info.version.endswith("/" + json.loads(c_define(h, "TB_MODEL_VERSION")))
    sizes = avr_size(firmware.elf)
    assert info.firmware_static_ram_bytes == sum(sizes.get(s, 0) for s in (".data", ".bss", ".noinit"))


def test_infer_matches_python_reference(firmware: Firmware, dev: client.Device) -> None:
    """INFER on 50 test beats: every score and class equals families.predict_scores; STATS agrees."""
    expected = families.predict_scores(firmware.model, firmware.X)
    assert len(np.unique(expected > firmware.threshold)) == 2, "the beats should reach both classes"
    dev.reset_stats()
    results = [dev.infer(x) for x in firmware.X]
    scores = np.array([r.score for r in results])
    np.testing.assert_array_equal(scores, expected)
    np.testing.assert_array_equal([r.klass for r in results], (expected > firmware.threshold).astype(int))
    cycles = np.array([r.cycles for r in results])
    assert (cycles > 0).all()
    stats = dev.stats()
    assert stats.count == len(firmware.X)
    assert stats.min_cycles <= stats.avg_cycles <= stats.max_cycles
    assert (stats.min_cycles, stats.max_cycles) == (cycles.min(), cycles.max())
    assert abs(stats.avg_cycles - cycles.mean()) <= 1


def test_hosttool_evaluate_finds_no_mismatch(firmware: Firmware, dev: client.Device) -> None:
    """client.evaluate (what `pio run -t evaluate` runs) streams the beats: no mismatch, STATS count."""
    ev = client.evaluate(dev, firmware.X, firmware.y, firmware.model,
                           decision_threshold=firmware.threshold, progress=False)
    assert ev.n == len(firmware.X) and ev.mismatches == 0
    assert ev.stats.count == len(firmware.X)
    assert ev.stats.min_cycles <= ev.stats.avg_cycles <= ev.stats.max_cycles
    assert ev.stats.max_cycles == ev.cycles.max()
    # stack high-water + least free RAM + static RAM = the MCU's SRAM
    assert ev.stats.stack_max_bytes > 0 and ev.stats.free_ram_min_bytes > 0
    assert (ev.stats.stack_max_bytes + ev.stats.free_ram_min_bytes + ev.info.firmware_static_ram_bytes
            == firmware.board.ram_bytes)


def test_bad_crc_gets_error_1(dev: client.Device) -> None:
    """A frame with a corrupted CRC: ERROR 1 echoing its seq and type; the next INFO works."""
    frame = bytearray(protocol.encode_frame(protocol.INFO, 7))
    frame[-1] ^= 0x40
    _assert_error(_exchange(dev, bytes(frame)), protocol.E_CRC, 7, protocol.INFO)
    _info_ok(dev)


@pytest.mark.parametrize("delta", [-1, 1, None])
def test_wrong_length_infer_gets_engine_error(firmware: Firmware, dev: client.Device, delta: int | None) -> None:
    """INFER with one sample too few, too many or none: the engine's TB_ERR_INPUT_LENGTH in an
    ERROR frame (E_ENGINE), never a verdict, and no inference counted; the next INFO works."""
    n = 0 if delta is None else firmware.X.shape[1] + delta
    dev.serial.write(protocol.encode_frame(protocol.RESET_STATS, 0))
    dev.serial.write(protocol.encode_frame(protocol.INFER, 1, bytes(n)))
    dev.serial.write(protocol.encode_frame(protocol.STATS, 2))
    frames = _read_frames(dev, lambda f: len(f) >= 3)
    assert [f.seq for f in frames] == [0, 1, 2], frames
    reply = frames[1]
    assert (reply.type, reply.error) == (protocol.ERROR, protocol.E_ENGINE), reply
    assert protocol.decode_engine_error_reply(reply.payload) == (protocol.INFER,
                                                                  protocol.EngineStatus.TB_ERR_INPUT_LENGTH)
    assert "TB_ERR_INPUT_LENGTH" in protocol.describe_error(reply)
    assert protocol.decode_stats_reply(frames[2].payload).count == 0
    _info_ok(dev)


def test_client_names_the_engine_error(firmware: Firmware, dev: client.Device) -> None:
    """Device.infer with a beat of the wrong length raises one clear line naming the engine status."""
    dev.seq = 0
    with pytest.raises(client.DeviceError, match="TB_ERR_INPUT_LENGTH.*no verdict"):
        dev.infer(firmware.X[0, :-1])
    _info_ok(dev)


def test_payload_on_info_gets_error_6(dev: client.Device) -> None:
    """INFO takes no payload: one byte of payload is ERROR 6."""
    _assert_error(_exchange(dev, protocol.encode_frame(protocol.INFO, 0, b"\x00")), protocol.E_PAYLOAD, 0,
                  protocol.INFO)


@pytest.mark.parametrize("request_type", [0x00, 0x05, 0x55, 0x81, protocol.ERROR])
def test_unknown_type_gets_error_3(dev: client.Device, request_type: int) -> None:
    """Unknown request types (including reply and ERROR types) get ERROR 3 naming the type."""
    reply = _exchange(dev, protocol.encode_frame(request_type, 0))
    _assert_error(reply, protocol.E_TYPE, 0, request_type)
    _info_ok(dev)


def test_oversized_length_gets_error_2(dev: client.Device) -> None:
    """A size byte above MAX_PAYLOAD right after the preamble: ERROR 2; the next INFO works."""
    reply = _exchange(dev, bytes((protocol.PREAMBLE0, protocol.PREAMBLE1, protocol.MAX_PAYLOAD + 1)))
    _assert_error(reply, protocol.E_LENGTH, 0, 0)
    _info_ok(dev)


def test_non_consecutive_seq_gets_error_4(dev: client.Device) -> None:
    """seq 0, then 5: rejected; the device resynchronises to 5, so 6 is accepted."""
    _info_ok(dev, 0)
    _info_ok(dev, 1)
    _assert_error(_exchange(dev, protocol.encode_frame(protocol.INFO, 5)), protocol.E_SEQUENCE, 5, protocol.INFO)
    _info_ok(dev, 6)
    _assert_error(_exchange(dev, protocol.encode_frame(protocol.STATS, 6)), protocol.E_SEQUENCE, 6,
                  protocol.STATS)


def _garbage(seed: int = 2024, n: int = 2000) -> bytes:
    """Random bytes with sync traps, extended until the protocol's own parser is between frames."""
    rng = np.random.default_rng(seed)
    data = bytearray(rng.integers(0, 256, n, dtype=np.uint8).tobytes())
    traps = [b"\xa5\x5a\xff",                                   # bad length
             b"\xa5\xa5\x5a\xc9",                               # doubled preamble, bad length
             b"\xa5\x5a\x03\x01\x00\x00\x01\x02\x03\x99\x99",  # a whole frame with a bad CRC
             b"\xa5\x5a\x00\x02\x09\x00\x12"]                  # a header cut short: the next bytes finish it
    for k, trap in enumerate(traps):
        pos = 150 + 450 * k
        data[pos:pos + len(trap)] = trap
    parser = protocol.FrameParser()
    parser.feed(bytes(data))
    while parser.busy:  # finish any frame the garbage left open
        byte = int(rng.integers(0, 256))
        data.append(byte)
        parser.feed_byte(byte)
    return bytes(data)


def test_garbage_then_info_resyncs_without_reset(firmware: Firmware, dev: client.Device) -> None:
    """2,000 garbage bytes: one ERROR per rejected frame, then INFO answers; the device did not reset."""
    dev.reset_stats()
    for x in firmware.X[:3]:
        dev.infer(x)
    before = dev.stats()
    assert before.count == 3
    garbage = _garbage()
    events = protocol.FrameParser().feed(garbage)
    assert not any(isinstance(e, Frame) for e in events), "the garbage must not hold a valid frame"
    expected_codes = [protocol.E_CRC if e.kind == protocol.EventKind.BAD_CRC else protocol.E_LENGTH
                      for e in events]
    assert protocol.E_LENGTH in expected_codes and protocol.E_CRC in expected_codes

    dev.serial.write(garbage + protocol.encode_frame(protocol.INFO, 0))
    frames = _read_frames(dev, lambda f: bool(f) and f[-1].type == protocol.INFO | protocol.REPLY)
    assert frames and frames[-1].type == protocol.INFO | protocol.REPLY, f"no INFO reply after garbage: {frames}"
    info = protocol.decode_info_reply(frames[-1].payload)
    assert info.n_inputs == firmware.X.shape[1]
    errors = frames[:-1]
    assert all(f.type == protocol.ERROR for f in errors), errors
    assert [f.error for f in errors] == expected_codes
    dev.seq = 1
    after = dev.stats()
    assert after.count == before.count and after.max_cycles == before.max_cycles, "the device was reset"


def test_half_frame_times_out_with_error_5(firmware: Firmware, dev: client.Device) -> None:
    """A frame that stops half way gets ERROR 5 after the inter-byte timeout; then the device answers."""
    n = firmware.X.shape[1]
    full = protocol.encode_frame(protocol.INFER, 0, bytes(firmware.X[0]))
    dev.serial.write(full[: 6 + n // 2])
    t0 = time.monotonic()
    frames = _read_frames(dev, lambda f: len(f) >= 1)
    elapsed = time.monotonic() - t0
    assert frames, f"no reply to a half-sent frame within {REPLY_WAIT_S} s"
    _assert_error(frames[0], protocol.E_TIMEOUT, 0, 0)
    # Only a lower bound: the board is paced to real time at best, so its timeout cannot come
    # early in wall-clock time; a loaded host may make it late (no upper bound).
    assert elapsed >= 0.05, f"timeout reply after {elapsed:.2f} s"
    # the abandoned bytes are forgotten: the same frame sent whole now works
    reply = _exchange(dev, full)
    assert (reply.type, reply.error) == (protocol.INFER | protocol.REPLY, 0), reply
    result = protocol.decode_infer_reply(reply.payload)
    assert result.score == families.predict_scores(firmware.model, firmware.X[:1])[0]
