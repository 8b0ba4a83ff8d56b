#!/usr/bin/env bash
# One entry point for a fresh Debian/Ubuntu machine.
#   ./run.sh setup   install what the project needs (idempotent, safe to re-run)
#   ./run.sh main    setup, then train-or-reload the model, build the firmware and
#                    evaluate it beat by beat on the simulated ATmega2560
#   ./run.sh test    setup, then the quick tests: pytest -m "not slow" (no PlatformIO build, no ../shared data,
#                    no whole training) and the native suites without the protocol fuzzer
#   ./run.sh test --all   setup, then every test: all of pytest, native, on-target (Mega and Uno) and
#                    Arduino suites (what CI runs: .ci/run)
set -euo pipefail
cd "$(dirname "$0")"
PROJECT_DIR=$(pwd)
VENV="$PROJECT_DIR/.venv"
PIO="$VENV/bin/pio"

DEBIAN_PACKAGES=(gcc g++ make pkg-config gcc-avr avr-libc binutils-avr avrdude simavr libsimavr-dev libelf-dev arduino-core-avr arduino-builder)

log() { printf '\n==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_debian_packages() {
  local missing=() pkg
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
  if [ ${#missing[@]} -eq 0 ]; then
    echo "Debian packages: all present"
    return
  fi
  log "Installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

install_python() {
  if [ ! -x "$VENV/bin/python" ]; then
    log "Creating $VENV"
    python3 -m venv "$VENV"
  fi
  local want have
  want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
  have=$(cat "$VENV/.requirements-sha256" 2>/dev/null || true)
  if [ "$want" != "$have" ]; then
    log "Installing Python requirements"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements.txt
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e .
    echo "$want" > "$VENV/.requirements-sha256"
  else
    echo "Python requirements: up to date"
  fi
}

setup() {
  log "Setting up (Debian packages, .venv, offline PlatformIO packages)"
  install_debian_packages
  install_python
  "$VENV/bin/python" pio/install_packages.py
}

main_job() {
  setup
  log "Training or reloading the model, building the firmware (pio run)"
  "$PIO" run -e megaatmega2560
  log "Evaluating on the simulated ATmega2560 (pio run -t evaluate)"
  "$PIO" run -e megaatmega2560 -t evaluate
}

quick_tests() {
  log "Python tests, quick (pytest -m 'not slow'; the markers: tests/conftest.py)"
  "$VENV/bin/python" -m pytest -q -m "not slow"
  log "Native suites without the protocol fuzzer (pio test -e native -i native/test_protocol_fuzz)"
  "$PIO" test -e native -i native/test_protocol_fuzz
  log "Quick tests passed; './run.sh test --all' runs every test (CI does)"
}

tests() {
  local all=0
  case "${1:-}" in
    "") ;;
    --all) all=1 ;;
    *) echo "usage: $0 test [--all]  (unknown option '$1')" >&2; exit 2 ;;
  esac
  [ $# -le 1 ] || { echo "usage: $0 test [--all]  (one option at most)" >&2; exit 2; }
  setup
  if [ "$all" -eq 0 ]; then
    quick_tests
    return
  fi
  log "Python tests, all of them (pytest)"
  "$VENV/bin/python" -m pytest -q
  log "Native suites (pio test -e native)"
  "$PIO" test -e native
  log "On-target suites on the simulated ATmega2560 (pio test -e megaatmega2560)"
  "$PIO" test -e megaatmega2560
  log "On-target suites on the simulated ATmega328P, 2 KB SRAM (pio test -e uno)"
  "$PIO" test -e uno
  log "Arduino framework suites on the simulated ATmega2560 (pio test -e megaatmega2560-arduino)"
  "$PIO" test -e megaatmega2560-arduino
}

case "${1:-}" in
  setup) setup ;;
  main) main_job ;;
  test) shift; tests "$@" ;;
  *) echo "usage: $0 {setup|main|test [--all]}" >&2; exit 2 ;;
esac
