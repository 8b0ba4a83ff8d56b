"""The PlatformIO `pre:` hook's logic (extra_scripts/model_hook.py stays a thin shim).

Before compilation it reloads (or retrains, when data, config or pipeline
changed) the model for the env's board and writes its headers into the env's
own build directory ($BUILD_DIR/tinybeat/tinybeat_model.h, on the include
path), only if their bytes change, so envs never rebuild each other. It adds the custom targets `train`, `evaluate`,
`stream` (`pio run -t stream`: replay the record named by the env option
`custom_stream_record`, default the excerpt in data/records/, through the
simulated board's ADC, or through `upload_port` as SAMPLES frames) and
`simulate` (the firmware on the simulated board, its serial port in the
terminal). For an env with `custom_sketch = <folder>` it builds that sketch
folder instead of src/ (the Arduino examples).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from tinybeat.pipeline.config import ConfigError
from tinybeat.datasets.table import DataError

MODEL_BOARD_OPTION = "custom_model_board"  # native env: whose budget the model follows
STREAM_RECORD_OPTION = "custom_stream_record"  # WFDB record for `pio run -t stream`
SKETCH_OPTION = "custom_sketch"  # an Arduino sketch folder to build instead of src/


def select_sketch(env) -> None:
    """Build the folder named by `custom_sketch` (relative to the project) as the env's sources.

    PlatformIO converts the folder's .ino files to C++ as it does for src/.
    A missing folder stops the build with one line naming the option.
    """
    sketch = env.GetProjectOption(SKETCH_OPTION, "")
    if not sketch:
        return
    folder = (Path(env["PROJECT_DIR"]) / sketch).resolve()
    if not folder.is_dir():
        sys.stderr.write(f"\nError: platformio.ini [env:{env['PIOENV']}] {SKETCH_OPTION} = {sketch}: "
                         f"no such folder ({folder})\n\n")
        env.Exit(1)
    env.Replace(PROJECT_SRC_DIR=str(folder))


def board_for_env(env) -> str:
    explicit = env.GetProjectOption(MODEL_BOARD_OPTION, "")
    if explicit:
        return explicit
    if "BOARD" in env:
        return env.subst("$BOARD")
    raise ConfigError(
        f"env '{env['PIOENV']}' has no board: set `{MODEL_BOARD_OPTION} = <board id>` so the model "
        "follows that board's budget"
    )


_BUILD_LOCK = None  # held (open file with an flock) for the life of this SCons process


def lock_build_dir(env) -> None:
    """Refuse a second concurrent build of the same env in this project (they corrupt .pio/build)."""
    import fcntl

    global _BUILD_LOCK
    build_dir = Path(env.subst("$BUILD_DIR"))
    build_dir.mkdir(parents=True, exist_ok=True)
    fh = open(build_dir / ".tinybeat-build.lock", "w")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        sys.stderr.write(f"\nError: another `pio run` or `pio test` is building env '{env['PIOENV']}' in this "
                         "project right now; wait for it to finish, then run this again.\n\n")
        env.Exit(1)
    _BUILD_LOCK = fh


def header_dir(env) -> Path:
    """The env's generated headers: $BUILD_DIR/tinybeat, on the env's include path."""
    return Path(env.subst("$BUILD_DIR")) / "tinybeat"


def target_commands(python: str, project: Path, build_dir: str, board_id: str, env_name: str, port: str,
                    record: str, sketch: str) -> dict:
    """The argv of the `evaluate` and `stream` targets of an env (both name the env: results per env).

    An env building an Arduino sketch (`custom_sketch`) has no stream mode:
    instead of "stream" it gets "stream_refusal", the one-line message its
    `stream` target prints (exit 1), naming the env that streams.
    """
    elf = os.path.join(build_dir, "firmware.elf")
    evaluate = [python, "-m", "tinybeat", "evaluate", "--project", str(project), "--elf", elf, "--board", board_id]
    evaluate += (["--port", port] if port else []) + ["--env", env_name]
    out = {"evaluate": evaluate}
    if sketch:
        out["stream_refusal"] = (
            f"env '{env_name}' builds the sketch {sketch}, which does not speak the tinybeat stream protocol: "
            f"`pio run -e {board_id} -t stream` streams a record through the tinybeat firmware; "
            f"`pio run -e {env_name} -t simulate` shows this sketch's serial output")
        return out
    stream = [python, "-m", "tinybeat", "stream"]
    if record:
        stream.append(record if os.path.isabs(record) else str(project / record))
    stream += ["--project", str(project), "--elf", elf, "--board", board_id]
    stream += (["--port", port] if port else []) + ["--env", env_name]
    out["stream"] = stream
    return out


def run(env, targets: list[str]) -> None:
    t0 = time.monotonic()
    from tinybeat.pipeline.ensure import ensure_model
    from tinybeat.device.upload import pre_upload

    project = Path(env["PROJECT_DIR"])
    select_sketch(env)
    if {"envdump", "idedata"} & set(targets):
        return
    if os.name == "posix":
        lock_build_dir(env)
    if {"clean", "cleanall", "fullclean"} & set(targets):
        return
    env.AddPreAction("upload", env.VerboseAction(pre_upload, "Checking the upload port..."))
    try:
        headers = header_dir(env)
        ensure_model(project, board_for_env(env), header_dir=headers, force_train="train" in targets)
        env.Prepend(CPPPATH=[str(headers)])
        print(f"tinybeat: pre-build step took {time.monotonic() - t0:.2f} s")
    except (DataError, ConfigError, OSError) as exc:
        sys.stderr.write(f"\nError: {exc}\nThe previous model and header are unchanged.\n\n")
        env.Exit(1)

    python = env.subst("$PYTHONEXE")
    env.AddCustomTarget(
        name="train", dependencies=None,
        actions=[env.VerboseAction(lambda target, source, env: None,
                                   "The model was retrained before this build: see model/report.md")],
        title="Train", description="Retrain the model from data/ and model/config.yaml",
    )
    cmds = target_commands(python, project, env.subst("$BUILD_DIR"), board_for_env(env), env["PIOENV"],
                           env.GetProjectOption("upload_port", "") or "",
                           env.GetProjectOption(STREAM_RECORD_OPTION, "") or "",
                           env.GetProjectOption(SKETCH_OPTION, "") or "")

    def shell(cmd: list[str]) -> str:
        return f'PYTHONPATH="{project / "python"}" ' + " ".join(f'"{a}"' for a in cmd)

    env.AddCustomTarget(
        name="evaluate", dependencies="$BUILD_DIR/firmware.elf",
        actions=[shell(cmds["evaluate"])],
        title="Evaluate", description="Stream the test split through the board (or the simulated board) and compare",
        always_build=True,
    )
    if "stream" in cmds:
        stream_action = shell(cmds["stream"])
    else:
        message = cmds["stream_refusal"]

        def refuse(target, source, env):  # noqa: ARG001 (SCons action signature)
            sys.stderr.write(f"\nError: {message}\n\n")
            return 1

        stream_action = env.VerboseAction(refuse, "Checking that this env's firmware can stream")
    env.AddCustomTarget(
        name="stream", dependencies="$BUILD_DIR/firmware.elf",
        actions=[stream_action],
        title="Stream", description="Replay an ECG record through the board's ADC (simulated) beat by beat "
                                    "and compare with the Python reference",
        always_build=True,
    )
    if env.subst("$PIOPLATFORM") == "atmelavr":
        simulate_cmd = [python, "-m", "tinybeat", "simulate", "--project", str(project),
                        "--elf", os.path.join(env.subst("$BUILD_DIR"), "firmware.elf"),
                        "--board", board_for_env(env)]
        env.AddCustomTarget(
            name="simulate", dependencies="$BUILD_DIR/firmware.elf",
            actions=[env.VerboseAction(f'PYTHONPATH="{project / "python"}" ' + " ".join(f'"{a}"' for a in simulate_cmd),
                                       "Starting the simulated board")],
            title="Simulate", description="Run the firmware on the simulated board, its serial port in this terminal",
            always_build=True,
        )
