"""Arduino framework for the offline AVR platform (`framework = arduino`).

Builds the sketch against the Arduino AVR core from the `framework-arduino-avr`
package (made by pio/install_packages.py from Debian's arduino-core-avr 1.8.7),
the way the Arduino IDE and PlatformIO's official atmelavr platform do:

- the core (`cores/<build.core>`) and the board's variant
  (`variants/<build.variant>`: `mega` for the Mega 2560, `standard` for the Uno)
  become static libraries linked before the sketch;
- ARDUINO=10807 (the core's version), ARDUINO_<build.board> (ARDUINO_AVR_MEGA2560,
  ARDUINO_AVR_UNO) and ARDUINO_ARCH_AVR are defined;
- the core's bundled libraries (EEPROM, SPI, Wire, SoftwareSerial, ...) are found
  by the library finder;
- link-time optimisation (-flto) as in the Arduino IDE's platform.txt.

`.ino` sketches are converted to C++ by PlatformIO itself before this script
runs (one `.ino.cpp` with prototypes, as the Arduino IDE does). main.py calls
nothing here: PlatformIO runs this script from BuildProgram() for envs with
`framework = arduino`, after main.py has set the compiler and MCU flags.
"""

import os
import sys

from SCons.Script import DefaultEnvironment  # pylint: disable=import-error

env = DefaultEnvironment()
platform = env.PioPlatform()
board = env.BoardConfig()

FRAMEWORK_DIR = platform.get_package_dir("framework-arduino-avr") or ""
build_core = board.get("build.core", "")
variant = board.get("build.variant", "")
core_dir = os.path.join(FRAMEWORK_DIR, "cores", build_core)
variant_dir = os.path.join(FRAMEWORK_DIR, "variants", variant)

if not os.path.isfile(os.path.join(core_dir, "Arduino.h")):
    sys.stderr.write(
        "Error: the Arduino AVR core is missing (%s). Run ./run.sh setup: it installs "
        "Debian's arduino-core-avr and registers it as framework-arduino-avr.\n" % core_dir
    )
    env.Exit(1)
if not variant or not os.path.isfile(os.path.join(variant_dir, "pins_arduino.h")):
    sys.stderr.write(
        "Error: board %s names no Arduino variant in its manifest (build.variant), "
        "or %s does not exist.\n" % (env.subst("$BOARD"), variant_dir)
    )
    env.Exit(1)


def arduino_version():
    """1.8.7 -> 10807, the number the Arduino IDE passes as ARDUINO."""
    version = platform.get_package_version("framework-arduino-avr") or "1.8.7"
    major, minor, patch = (int(part) for part in (version.split(".") + ["0", "0"])[:3])
    return major * 10000 + minor * 100 + patch


env.Append(
    CPPDEFINES=[
        ("ARDUINO", arduino_version()),
        "ARDUINO_%s" % board.get("build.board", "UNKNOWN"),
        "ARDUINO_ARCH_AVR",
    ],
    CCFLAGS=["-flto"],
    CFLAGS=["-fno-fat-lto-objects"],
    # The core's WString.cpp needs DECIMAL_DIG from <float.h>, which Debian's avr-gcc 5.4
    # defines for C99 but not yet for C++11 (GCC 6 does); the value is the compiler's own.
    CXXFLAGS=["-DDECIMAL_DIG=__DECIMAL_DIG__"],
    LINKFLAGS=["-flto", "-fuse-linker-plugin"],
    CPPPATH=[core_dir, variant_dir],
    LIBSOURCE_DIRS=[os.path.join(FRAMEWORK_DIR, "libraries")],
)

# copy the compiler flags to the assembler (wiring_pulse.S needs -mmcu), as the Arduino IDE does
env.Append(ASFLAGS=[flag for flag in env.get("CCFLAGS", []) if flag.startswith(("-mmcu", "-flto"))])

# The core and the variant are third-party code: built as the Arduino IDE builds them by
# default (warnings off); build_src_flags (-Werror) apply to the sketch only.
core_env = env.Clone()
core_env.Append(CCFLAGS=["-w"])
libs = [
    core_env.BuildLibrary(os.path.join("$BUILD_DIR", "FrameworkArduinoVariant"), variant_dir),
    core_env.BuildLibrary(os.path.join("$BUILD_DIR", "FrameworkArduino"), core_dir),
]
env.Prepend(LIBS=libs)
