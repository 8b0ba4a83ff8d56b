"""Boards from the PlatformIO board manifests the project ships (pio/platforms/<platform>/boards/)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tinybeat.errors import ConfigError

PLATFORMS_DIR = Path("pio") / "platforms"


@dataclass(frozen=True)
class Board:
    id: str
    name: str
    platform: str      # the PlatformIO platform whose manifest this is, e.g. "atmelavr"
    mcu: str
    f_cpu: int         # Hz
    flash_bytes: int   # upload.maximum_size
    ram_bytes: int     # upload.maximum_ram_size
    max_model_flash: int | None = None  # tinybeat.max_model_flash: model bytes the engine may use on it

    @classmethod
    def from_manifest(cls, board_id: str, manifest: dict, platform: str = "atmelavr") -> "Board":
        build, upload = manifest.get("build", {}), manifest.get("upload", {})
        return cls(
            id=board_id, name=manifest.get("name", board_id), platform=platform, mcu=build.get("mcu", "?"),
            f_cpu=int(str(build.get("f_cpu", "16000000")).rstrip("UL")),
            flash_bytes=int(upload.get("maximum_size", 0)), ram_bytes=int(upload.get("maximum_ram_size", 0)),
            max_model_flash=manifest.get("tinybeat", {}).get("max_model_flash"),
        )


def board_manifests(project_dir: Path) -> dict[str, Path]:
    """Every board manifest of the project's platforms: board id -> manifest path."""
    return {p.stem: p for p in sorted((Path(project_dir) / PLATFORMS_DIR).glob("*/boards/*.json"))}


def load_board(project_dir: Path, board_id: str) -> Board:
    """The board `board_id` from its manifest (ConfigError naming the known boards when unknown)."""
    manifests = board_manifests(project_dir)
    if board_id not in manifests:
        raise ConfigError(f"unknown board {board_id!r} (no pio/platforms/*/boards/{board_id}.json); "
                          f"known boards: {', '.join(sorted(manifests))}")
    path = manifests[board_id]
    return Board.from_manifest(board_id, json.loads(path.read_text()), platform=path.parent.parent.name)
