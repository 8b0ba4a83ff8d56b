"""Suite-wide pytest setup: the markers `pio`, `shared` and `slow`, applied here, not in the test files.

- `pio`: the test (or a fixture it uses, or a helper either calls) builds with PlatformIO (or
  arduino-builder) or runs the simulated board: it references PIO, VBOARD, vboard_path, VirtualBoard,
  streamkit, pio_project... (PIO_NAMES)
- `shared`: it reads the MIT-BIH data in ../shared (MITDB, NSTDB, SHARED; it skips when they are absent).
- `slow`: `pio`, or `shared`, or longer than a few seconds on its own (SLOW_TESTS, measured).

Found by reading the code objects of the test function, its fixtures and the module-level helpers they
call (transitively), so a new test file needs no marks of its own. `./run.sh test` runs `-m "not slow"`;
`./run.sh test --all` runs everything (what CI runs). The markers are registered in pyproject.toml
(--strict-markers).
"""

from __future__ import annotations

import inspect
import types
from typing import Callable, Iterable

import pytest

PIO_NAMES = frozenset({"PIO", "VBOARD", "vboard_path", "VirtualBoard", "streamkit", "build_firmware",
                       "pio_project", "project_copy", "buildable_copy", "pio_test", "simulate_main",
                       "arduino-builder"})
SHARED_NAMES = frozenset({"MITDB", "NSTDB", "SHARED", "SHARED_DATA"})
# Tests without PlatformIO or ../shared that take 10-30 s each on a loaded 2-core machine (pytest
# --durations=40, load average 12): whole trainings, worker processes, a Dask cluster. A module name, or
# module::test name prefix.
SLOW_TESTS = (
    "test_dataset::test_records_kind_trains_end_to_end",
    "test_search::test_same_model_and_header_bytes_from_a_dask_cluster",
    "test_search::test_a_quick_search_says_so_and_never_silently_stands_in_for_the_full_one",
    "test_search::test_cross_validation_and_refits_do_not_depend_on_the_worker_count",
    "test_search::test_same_model_and_header_bytes_from_one_or_two_local_processes",
    "test_pipeline::test_same_inputs_train_byte_identical",
)


def _code_names(code: types.CodeType) -> set[str]:
    """Global and attribute names a code object (and the functions and lambdas nested in it) uses,
    plus its string constants that are in PIO_NAMES (a program name such as "arduino-builder")."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
        elif isinstance(const, str) and const in PIO_NAMES:
            names.add(const)
    return names


def _closure_names(func: Callable, seen: set[int]) -> set[str]:
    """Names used by func and, transitively, by the functions of the test modules it calls."""
    func = inspect.unwrap(getattr(func, "__func__", func))
    code = getattr(func, "__code__", None)
    if code is None or id(code) in seen:
        return set()
    seen.add(id(code))
    names = _code_names(code)
    module_globals = getattr(func, "__globals__", {})
    for name in list(names):
        obj = module_globals.get(name)
        if isinstance(obj, types.ModuleType) and obj.__name__.endswith("kit"):  # projkit, streamkit
            for sub in names & set(vars(obj)):
                names |= _closure_names(vars(obj)[sub], seen)
        elif inspect.isfunction(obj) or inspect.isclass(obj):
            if getattr(obj, "__module__", "").startswith(("test_", "conftest")) or \
                    getattr(obj, "__module__", "").endswith("kit"):
                members = vars(obj).values() if inspect.isclass(obj) else [obj]
                for member in members:
                    if inspect.isfunction(member) or isinstance(member, (staticmethod, classmethod, property)):
                        names |= _closure_names(getattr(member, "fget", member), seen)
    return names


def _item_names(item: pytest.Item) -> set[str]:
    """Names used by a test item, the fixtures it requests and their helpers."""
    seen: set[int] = set()
    names = _closure_names(item.function, seen) if hasattr(item, "function") else set()
    fixtureinfo = getattr(item, "_fixtureinfo", None)
    for defs in (fixtureinfo.name2fixturedefs.values() if fixtureinfo else ()):
        for fixturedef in defs:
            names |= _closure_names(fixturedef.func, seen)
    for mark in item.iter_markers("skipif"):  # a module's pytestmark = skipif(not PIO.is_file(), ...)
        reason = str(mark.kwargs.get("reason", ""))
        if "pio" in reason.lower() or "vboard" in reason.lower():
            names.add("PIO")
    return names


def _listed(item: pytest.Item, prefixes: Iterable[str]) -> bool:
    module = item.module.__name__ if getattr(item, "module", None) else ""
    node = f"{module}::{item.name}"
    return any(node.startswith(p) if "::" in p else module == p for p in prefixes)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        names = _item_names(item)
        pio = bool(names & PIO_NAMES)
        shared = bool(names & SHARED_NAMES)
        if pio:
            item.add_marker(pytest.mark.pio)
        if shared:
            item.add_marker(pytest.mark.shared)
        if pio or shared or _listed(item, SLOW_TESTS):
            item.add_marker(pytest.mark.slow)
