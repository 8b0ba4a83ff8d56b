"""Build and register this project's offline PlatformIO packages.

Run with the project's virtual environment Python, from anywhere:

    .venv/bin/python pio/install_packages.py

It makes, from pip's SCons and Debian's avrdude, simavr and arduino-core-avr, the
packages `tool-scons`, `tool-avrdude`, `tool-simavr` and `framework-arduino-avr`
(the Arduino AVR core for `framework = arduino`), and installs them together with
the dev-platforms in pio/platforms/ into the project-local PlatformIO core
(`.platformio/` beside platformio.ini). Nothing in the user's home is touched
and no registry is contacted. Safe to re-run: a package whose sources did not
change is left alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
CORE_DIR = PROJECT_DIR / ".platformio"
PLATFORMS_SRC = PROJECT_DIR / "pio" / "platforms"
VBOARD_SRC = PROJECT_DIR / "pio" / "tools" / "simavr" / "avr-vboard.c"
ARDUINO_AVR_SRC = Path("/usr/share/arduino/hardware/arduino/avr")  # Debian's arduino-core-avr
STAMP = ".tinybeat-source-hash"


def pio_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PLATFORMIO_CORE_DIR"] = str(CORE_DIR)
    env["PLATFORMIO_SETTING_ENABLE_TELEMETRY"] = "No"
    return env


def pio(*args: str, quiet: bool = False) -> None:
    exe = Path(sys.executable).parent / "pio"
    subprocess.run([str(exe), *args], check=True, env=pio_env(), capture_output=quiet)


def tree_hash(root: Path) -> str:
    """SHA-256 over relative paths and bytes of every file below root."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def debian_version(package: str) -> str:
    """Upstream x.y.z of an installed Debian package, e.g. '7.1+dfsg-3' -> '7.1.0'."""
    raw = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", package], check=True, capture_output=True, text=True
    ).stdout
    upstream = raw.split(":")[-1].split("+")[0].split("-")[0].split("~")[0]
    parts = [p for p in upstream.split(".") if p.isdigit()][:3]
    parts += ["0"] * (3 - len(parts))
    return ".".join(parts)


def write_manifest(pkg_dir: Path, name: str, version: str, description: str) -> None:
    manifest = {"name": name, "version": version, "description": description}
    (pkg_dir / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")


def write_wrapper(path: Path, target: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\nexec {target} "$@"\n')
    path.chmod(0o755)


def stage_tool_scons(dst: Path) -> None:
    import SCons  # the pip-installed SCons of this virtual environment

    major, minor, patch = (int(x) for x in SCons.__version__.split(".")[:3])
    shutil.copytree(Path(SCons.__file__).parent, dst / "SCons", ignore=shutil.ignore_patterns("__pycache__"))
    (dst / "scons.py").write_text(
        "import os, sys\n"
        "sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))\n"
        "from SCons.Script import main\n"
        "main()\n"
    )
    # PlatformIO encodes SCons 4.11.1 as 4.41101.0
    write_manifest(dst, "tool-scons", f"{major}.{major}{minor:02d}{patch:02d}.0",
                   f"SCons {SCons.__version__} from PyPI, packaged for offline use")


def stage_tool_avrdude(dst: Path) -> None:
    write_wrapper(dst / "bin" / "avrdude", "/usr/bin/avrdude")
    write_manifest(dst, "tool-avrdude", debian_version("avrdude"), "Debian's avrdude")


def stage_tool_simavr(dst: Path) -> None:
    write_wrapper(dst / "bin" / "simavr", "/usr/bin/simavr")
    flags = subprocess.run(
        ["pkg-config", "--cflags", "--libs", "simavr"], check=True, capture_output=True, text=True
    ).stdout.split()
    subprocess.run(
        ["gcc", "-O2", "-Wall", "-Wextra", "-o", str(dst / "bin" / "avr-vboard"), str(VBOARD_SRC), *flags, "-lelf"],
        check=True,
    )
    write_manifest(dst, "tool-simavr", debian_version("simavr"),
                   "Debian's simavr and avr-vboard, a virtual AVR board on libsimavr")


def stage_framework_arduino_avr(dst: Path) -> None:
    """The Arduino AVR core as PlatformIO's `framework-arduino-avr` package layout.

    Copies cores/, variants/, libraries/ (EEPROM, SPI, Wire, ...), boards.txt and
    platform.txt; bootloaders and USB firmwares are not needed to build sketches.
    """
    if not (ARDUINO_AVR_SRC / "cores" / "arduino" / "Arduino.h").is_file():
        raise SystemExit(f"error: {ARDUINO_AVR_SRC} has no Arduino core: install Debian's arduino-core-avr "
                         "(./run.sh setup does it)")
    for name in ("cores", "variants", "libraries"):
        shutil.copytree(ARDUINO_AVR_SRC / name, dst / name, symlinks=False)
    for name in ("boards.txt", "platform.txt"):
        shutil.copy2(ARDUINO_AVR_SRC / name, dst / name)
    write_manifest(dst, "framework-arduino-avr", debian_version("arduino-core-avr"),
                   "Debian's arduino-core-avr: the Arduino AVR core, variants and bundled libraries")


def package_dir(kind: str, name: str) -> Path:
    return CORE_DIR / ("packages" if kind == "tool" else "platforms") / name


def installed_stamp(kind: str, name: str) -> str | None:
    stamp = package_dir(kind, name) / STAMP
    return stamp.read_text().strip() if stamp.is_file() else None


def set_owner(pkg_dir: Path, owner: str) -> None:
    """Name an owner in the package metadata so the core does not ask the registry."""
    meta_path = pkg_dir / ".piopm"
    meta = json.loads(meta_path.read_text())
    meta.setdefault("spec", {})["owner"] = owner
    meta_path.write_text(json.dumps(meta))


def install(kind: str, name: str, src: Path, owner: str | None = None) -> None:
    source_hash = tree_hash(src)
    if installed_stamp(kind, name) == source_hash:
        print(f"{name}: up to date")
        return
    pkg_dir = package_dir(kind, name)
    for old in pkg_dir.parent.glob(f"{name}@*"):  # leftovers of an interrupted install
        shutil.rmtree(old)
    if pkg_dir.exists():
        shutil.rmtree(pkg_dir)
    flag = "--tool" if kind == "tool" else "--platform"
    pio("pkg", "install", "--global", "--skip-dependencies", flag, f"file://{src}")
    if owner:
        set_owner(pkg_dir, owner)
    (pkg_dir / STAMP).write_text(source_hash + "\n")


def main() -> int:
    CORE_DIR.mkdir(exist_ok=True)
    # Platforms first: reinstalling a platform removes the tools it depends on.
    for platform_dir in sorted(PLATFORMS_SRC.iterdir()):
        install("platform", platform_dir.name, platform_dir)
    with tempfile.TemporaryDirectory(prefix="tinybeat-pio-") as tmp:
        for name, stage, owner in (
            ("tool-scons", stage_tool_scons, "platformio"),
            ("tool-avrdude", stage_tool_avrdude, None),
            ("tool-simavr", stage_tool_simavr, None),
            ("framework-arduino-avr", stage_framework_arduino_avr, None),
        ):
            dst = Path(tmp) / name
            dst.mkdir()
            stage(dst)
            install("tool", name, dst, owner)
    # No update checks against the registry and no telemetry from this core.
    pio("settings", "set", "check_platformio_interval", "36500", quiet=True)
    pio("settings", "set", "enable_telemetry", "No", quiet=True)
    print(f"PlatformIO packages are ready in {CORE_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
