"""PlatformIO pre-build hook: train or reload the model and write .pio/build/<env>/tinybeat/tinybeat_model.h.

Thin on purpose: the logic lives in the tinybeat package (python/tinybeat/integrations/pio_hook.py).
"""
import os
import sys

from SCons.Script import COMMAND_LINE_TARGETS  # noqa: F401  (SCons)

Import("env")  # noqa: F821  (SCons)

sys.path.insert(0, os.path.join(env["PROJECT_DIR"], "python"))  # noqa: F821
from tinybeat.integrations import pio_hook  # noqa: E402

pio_hook.run(env, list(COMMAND_LINE_TARGETS))  # noqa: F821
