"""SCons builder for the offline AVR platform.

Compiles with the system avr-gcc/avr-g++ (Debian's gcc-avr and avr-libc), takes
-mmcu and F_CPU from the board manifest, links with --gc-sections, writes
firmware.elf and firmware.hex, checks flash and RAM against the board's
limits and uploads with avrdude using the board's protocol, speed and port.
"""

import re
import shutil
import subprocess
import sys

from SCons.Script import (  # pylint: disable=import-error
    COMMAND_LINE_TARGETS,
    AlwaysBuild,
    Builder,
    Default,
    DefaultEnvironment,
)

env = DefaultEnvironment()
board = env.BoardConfig()

for tool in ("avr-gcc", "avr-g++", "avr-objcopy", "avr-size"):
    if not shutil.which(tool):
        sys.stderr.write(
            "Error: '%s' was not found on PATH. Install Debian's gcc-avr, "
            "binutils-avr and avr-libc (./run.sh setup does it).\n" % tool
        )
        env.Exit(1)

env.Replace(
    AR="avr-gcc-ar",
    AS="avr-gcc",
    CC="avr-gcc",
    CXX="avr-g++",
    GDB="avr-gdb",
    OBJCOPY="avr-objcopy",
    RANLIB="avr-gcc-ranlib",
    SIZETOOL="avr-size",
    ARFLAGS=["rc"],
    SIZEPROGREGEXP=r"^(?:\.text|\.data|\.rodata|\.bootloader)\s+(\d+).*",
    SIZEDATAREGEXP=r"^(?:\.data|\.bss|\.noinit)\s+(\d+).*",
    SIZEEEPROMREGEXP=r"^(?:\.eeprom)\s+(\d+).*",
    SIZECHECKCMD="$SIZETOOL -A -d $SOURCES",
    SIZEPRINTCMD="$SIZETOOL -A -d $SOURCES",
    PROGNAME="firmware",
    PROGSUFFIX=".elf",
    UPLOADER="avrdude",
    UPLOADERFLAGS=[
        "-p", "$BOARD_MCU",
        "-c", "$UPLOAD_PROTOCOL",
        "-b", "$UPLOAD_SPEED",
        "-P", "$UPLOAD_PORT",
        "-D",
    ],
    UPLOADCMD="$UPLOADER $UPLOADERFLAGS -U flash:w:$SOURCES:i",
)

env.Append(
    ASFLAGS=["-x", "assembler-with-cpp"],
    CCFLAGS=[
        "-Os",
        "-Wall",
        "-Wextra",
        "-ffunction-sections",
        "-fdata-sections",
        "-mmcu=$BOARD_MCU",
    ],
    CFLAGS=["-std=gnu11"],
    CXXFLAGS=["-std=gnu++11", "-fno-exceptions", "-fno-threadsafe-statics", "-fno-rtti"],
    CPPDEFINES=[("F_CPU", "$BOARD_F_CPU")],
    LINKFLAGS=["-Os", "-mmcu=$BOARD_MCU", "-Wl,--gc-sections", "-Wl,--relax"],
    LIBS=["m"],
    BUILDERS=dict(
        ElfToHex=Builder(
            action=env.VerboseAction(
                "$OBJCOPY -O ihex -R .eeprom $SOURCES $TARGET", "Building $TARGET"
            ),
            suffix=".hex",
        )
    ),
)


def check_ram_size(target, source, env):  # pylint: disable=unused-argument
    """Fail the build when static RAM (.data + .bss + .noinit) exceeds the board."""
    limit = int(board.get("upload.maximum_ram_size", 0))
    if not limit:
        return None
    out = subprocess.run(
        ["avr-size", "-A", "-d", str(source[0])],
        check=True, capture_output=True, text=True,
    ).stdout
    used = sum(
        int(m.group(1))
        for m in re.finditer(env["SIZEDATAREGEXP"], out, flags=re.MULTILINE)
    )
    if used > limit:
        sys.stderr.write(
            "Error: The static RAM size (%d bytes of .data+.bss+.noinit) is greater "
            "than the board's maximum_ram_size (%d bytes) for %s\n"
            % (used, limit, board.get("name"))
        )
        return 1
    return None


target_elf = None
if "nobuild" in COMMAND_LINE_TARGETS:
    target_elf = "$BUILD_DIR/${PROGNAME}.elf"
    target_hex = "$BUILD_DIR/${PROGNAME}.hex"
else:
    target_elf = env.BuildProgram()
    target_hex = env.ElfToHex("$BUILD_DIR/${PROGNAME}", target_elf)
    env.Depends(target_hex, "checkprogsize")
    env.AddPostAction("checkprogsize", env.VerboseAction(check_ram_size, "Checking RAM size"))

AlwaysBuild(env.Alias("nobuild", target_hex))
target_buildprog = env.Alias("buildprog", target_hex, target_hex)

AlwaysBuild(
    env.Alias(
        "size", target_elf, env.VerboseAction("$SIZEPRINTCMD", "Calculating size $SOURCE")
    )
)

upload_actions = [
    env.VerboseAction(env.AutodetectUploadPort, "Looking for upload port..."),
    env.VerboseAction("$UPLOADCMD", "Uploading $SOURCE"),
]
AlwaysBuild(env.Alias("upload", target_hex, upload_actions))

Default([target_buildprog])
