"""Host tool: stream heartbeats to a board (or the virtual board) and check every prediction.

The device's INFER replies are compared with the Python integer reference of
the same model: the number of mismatches must be 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinybeat.core import families
from tinybeat.device import protocol
from tinybeat.device.errors import DeviceError
from tinybeat.device.link import SerialLink
from tinybeat.device.protocol import DeviceInfo, DeviceStats, InferResult
from tinybeat.device.session import Session

__all__ = ["Device", "DeviceError", "Evaluation", "evaluate", "evaluate_main"]


class Device(Session):
    """A board speaking the tinybeat protocol on a serial port (a real board or the virtual board's pty)."""

    def __init__(self, port: str, baud: int = 115200, timeout_s: float = 2.0):
        super().__init__(SerialLink(port, baud), timeout_s=timeout_s)

    @property
    def serial(self):
        """The open pyserial port."""
        return self.link.serial

    def close(self) -> None:
        self.link.close()

    def __enter__(self) -> "Device":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def wait_ready(self, timeout_s: float = 10.0, hint: str = "") -> DeviceInfo:
        return super().wait_ready(timeout_s, hint or "check the port, that the board runs this firmware "
                                  f"(`pio run -t upload`) and the baud rate ({self.serial.baudrate})")

    def infer(self, samples: np.ndarray) -> InferResult:
        return protocol.decode_infer_reply(self.request(protocol.INFER, bytes(np.asarray(samples, np.uint8))).payload)

    def stats(self) -> DeviceStats:
        return protocol.decode_stats_reply(self.request(protocol.STATS).payload)

    def reset_stats(self) -> None:
        self.request(protocol.RESET_STATS)


@dataclass
class Evaluation:
    n: int
    mismatches: int
    metrics: dict
    cycles: np.ndarray
    stats: DeviceStats
    info: DeviceInfo

    def to_dict(self, f_cpu: int) -> dict:
        return {
            "n": self.n, "mismatches": self.mismatches, "metrics": self.metrics,
            "cycles": {"min": int(self.cycles.min()), "median": float(np.median(self.cycles)),
                       "max": int(self.cycles.max()),
                       "median_us": float(np.median(self.cycles)) * 1e6 / f_cpu},
            "device_stats": self.stats.__dict__,
            "model": {"name": self.info.name, "fingerprint": self.info.fingerprint_hex,
                      "flash_bytes": self.info.model_flash_bytes,
                      "firmware_static_ram_bytes": self.info.firmware_static_ram_bytes},
        }


def evaluate(device: Device, X_u8: np.ndarray, y: np.ndarray, model: families.IntModel,
             decision_threshold: int = 0, progress: bool = True) -> Evaluation:
    """Stream every row of X_u8 (n, n_inputs) to the device; compare with the integer reference."""
    from tqdm import tqdm

    from tinybeat.core.metrics import summary

    info = device.wait_ready()
    if info.n_inputs != X_u8.shape[1]:
        raise DeviceError(f"the device's model takes {info.n_inputs} inputs, the data has {X_u8.shape[1]}")
    device.reset_stats()
    expected = families.predict_scores(model, X_u8)
    scores = np.zeros(len(y), dtype=np.int64)
    classes = np.zeros(len(y), dtype=np.int64)
    cycles = np.zeros(len(y), dtype=np.int64)
    for i in tqdm(range(len(y)), desc="streaming beats", unit="beat", disable=None if progress else True):
        r = device.infer(X_u8[i])
        scores[i], classes[i], cycles[i] = r.score, r.klass, r.cycles
    mismatches = int(np.sum((scores != expected) | (classes != (expected > decision_threshold))))
    return Evaluation(len(y), mismatches, summary(y, scores, decision_threshold), cycles,
                      device.stats(), info)


def format_evaluation(ev: Evaluation, f_cpu: int) -> str:
    m, c = ev.metrics, ev.metrics["confusion"]
    med = float(np.median(ev.cycles))
    return "\n".join([
        f"model {ev.info.name} ({ev.info.fingerprint_hex}), {ev.n} beats",
        f"on-device AUC {m['auc']:.4f}, accuracy {100 * m['accuracy']:.2f} %, "
        f"sensitivity {100 * m['sensitivity']:.1f} %, specificity {100 * m['specificity']:.1f} %",
        f"confusion: normal->normal {c['tn']}, normal->abnormal {c['fp']}, "
        f"abnormal->normal {c['fn']}, abnormal->abnormal {c['tp']}",
        f"cycles per inference: min {ev.cycles.min()}, median {med:.0f}, max {ev.cycles.max()} "
        f"({med * 1e6 / f_cpu:.0f} us median at {f_cpu / 1e6:.0f} MHz)",
        f"device: stack high-water {ev.stats.stack_max_bytes} B, free RAM at least "
        f"{ev.stats.free_ram_min_bytes} B, static RAM {ev.info.firmware_static_ram_bytes} B",
        f"predictions differing from the Python reference: {ev.mismatches}",
    ])


def elf_mcu(elf: Path) -> str | None:
    """The MCU an AVR ELF was built for (from avr-gcc's .note.gnu.avr.deviceinfo), or None if absent."""
    import re
    import struct

    data = Path(elf).read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 1:  # ELF32 only (AVR)
        return None
    endian = "<" if data[5] == 1 else ">"
    shoff, = struct.unpack_from(endian + "I", data, 0x20)
    shentsize, shnum, shstrndx = struct.unpack_from(endian + "HHH", data, 0x2E)

    def section(i: int) -> tuple[int, int, int]:
        name, _, _, _, off, size = struct.unpack_from(endian + "IIIIII", data, shoff + i * shentsize)
        return name, off, size

    try:
        _, str_off, _ = section(shstrndx)
        for i in range(shnum):
            name, off, size = section(i)
            end = data.index(b"\0", str_off + name)
            if data[str_off + name:end] == b".note.gnu.avr.deviceinfo":
                found = re.findall(rb"(?:at|ATmega|atmega|attiny|atxmega)[A-Za-z0-9]+", data[off:off + size])
                return found[0].decode().lower() if found else None
    except (struct.error, ValueError):
        return None
    return None


def check_firmware_elf(elf: Path, board, env_name: str) -> None:
    """Raise DeviceError (one line) unless elf is the tinybeat firmware built for board's MCU."""
    if not elf.is_file():
        raise DeviceError(f"{elf} not found: build the firmware first with `pio run -e {env_name}`")
    mcu = elf_mcu(elf)
    if mcu is None:
        raise DeviceError(f"{elf} is not an AVR firmware (no avr-gcc device note); build it with `pio run -e {env_name}`")
    if mcu != board.mcu.lower():
        raise DeviceError(f"{elf} was built for {mcu}, but board {board.id} is an {board.mcu}: "
                          f"pass --board matching the firmware, or build it with `pio run -e {board.id}`")
    if FIRMWARE_MARK not in elf.read_bytes():
        raise DeviceError(f"{elf} is not the tinybeat firmware (a test program left by `pio test`, or an Arduino "
                          f"sketch?): rebuild it with `pio run -e {env_name}`")


FIRMWARE_MARK = b"heartbeat classifier"  # in the firmware's banner (src/avr/main.c), not in test programs


def evaluate_output(paths, env: str) -> Path:
    """Where `evaluate` saves its JSON result: under .pio/ (ignored by git), one file per env (default: board id)."""
    return paths.project / ".pio" / "tinybeat" / f"device_eval_{env}.json"


def check_port_exists(port: str) -> None:
    """Raise DeviceError when a local serial port path does not exist (URLs and COM ports pass)."""
    import os

    if "://" in port or os.name != "posix":
        return
    if not os.path.exists(port):
        raise DeviceError(f"serial port {port} does not exist: check that the board is plugged in "
                          "(`pio device list` shows the ports)")


def evaluate_main(args) -> int:
    """`tinybeat evaluate`: the test split through a real port or the virtual board."""
    from tinybeat.targets.boards import load_board
    from tinybeat.pipeline.config import load_config
    from tinybeat.pipeline.artifacts import Paths, load_trained
    from tinybeat.pipeline.selection import select_for_board
    from tinybeat.core.quantize import quantize_inputs
    from tinybeat.pipeline.tables import load_tables
    from tinybeat.device.vboard import VirtualBoard

    paths = Paths(Path(args.project).resolve())
    cfg = load_config(paths.config)
    board = load_board(paths.project, args.board)
    env = getattr(args, "env", None) or board.id
    if args.port:
        check_port_exists(args.port)
    else:
        elf = Path(args.elf) if args.elf else paths.project / ".pio" / "build" / env / "firmware.elf"
        check_firmware_elf(elf, board, env)
    trained = load_trained(paths)
    if trained is None:
        raise DeviceError("no trained model in model/trained.json: run `pio run` first")
    entry = select_for_board(trained, board, cfg)
    model = entry.model
    _, test = load_tables(paths, cfg)
    X = quantize_inputs(test.X, cfg.data.input_range)
    y = test.y
    if args.limit:
        X, y = X[: args.limit], y[: args.limit]

    def run(port: str) -> Evaluation:
        with Device(port, args.baud) as dev:
            return evaluate(dev, X, y, model, entry.decision_threshold)

    if args.port:
        ev = run(args.port)
    else:
        with VirtualBoard(paths.project, elf, board) as vb:
            print(f"virtual board: {board.name} simulated at {board.f_cpu / 1e6:.0f} MHz on {vb.port}")
            ev = run(vb.port)
    print(format_evaluation(ev, board.f_cpu))
    result = ev.to_dict(board.f_cpu)
    result.update({"board": board.id, "env": env, "port": args.port or "virtual",
                   "report_test_auc": entry.test["auc"]})
    from tinybeat.util.atomic import write_text_atomic

    out = evaluate_output(paths, env)
    write_text_atomic(out, json.dumps(result, indent=1) + "\n")
    print(f"saved {out.relative_to(paths.project)}")
    if ev.mismatches:
        print("FAIL: the device disagrees with the Python reference")
        return 1
    return 0
