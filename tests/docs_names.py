"""What the docs name, and whether it exists: helpers of tests/test_docs.py.

Not a test module (pytest collects only test_*.py). Docs are the tracked
README.md files, library.properties and library.json. Names found in them:

- repository paths: ``lib/tbfront/tbfront.c``, ``bench/run_bench.py`` (anywhere in
  the text), and relative ones in backticks (``run_bench.py`` in bench/README.md):
  each must exist, relative to the project or to the doc's folder, or lie under a
  git-ignored folder (generated output such as ``model/stream/``);
- Python names: ``tinybeat.x.y`` and ``python -m tinybeat.x``: the module must
  exist and a trailing attribute must be defined at its top level (or in a class);
- CLI commands in code (fenced blocks and backtick spans): ``tinybeat SUB --flag``
  must parse with ``tinybeat.cli.build_parser()``; ``pio run/test -e ENV -t TARGET``
  must name an env of platformio.ini and a known target; ``./run.sh MODE`` a mode
  run.sh accepts.

Each problem is a ``Stale(doc, line, name, why)`` that prints as one line.
"""

from __future__ import annotations

import ast
import configparser
import importlib.util
import re
import shlex
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOP_DIRS = ("python", "lib", "src", "test", "tests", "bench", "data", "model", "pio", "extra_scripts", "include",
            ".ci")
TOP_FILES = ("run.sh", "platformio.ini", "requirements.txt", "pyproject.toml")
# A placeholder in a name (an example, not a real name): <record>, *, ..., {a,b}, [opt].
PLACEHOLDER = re.compile(r"[<>*{}\[\]…]|\.\.\.")
FILE_SUFFIXES = {"c", "h", "cpp", "hpp", "ino", "py", "json", "yaml", "yml", "md", "csv", "gz", "txt", "ini", "sh",
                 "png", "properties", "elf", "hex", "dat", "hea", "atr", "toml"}
PIO_BUILTIN_TARGETS = {"upload", "clean", "size", "monitor", "program", "uploadfs", "buildfs", "compiledb",
                       "envdump", "idedata", "checkprogsize", "fuses", "bootloader", "erase", "exec"}


@dataclass(frozen=True)
class Stale:
    """One name in a doc that does not exist or does not parse."""
    doc: str
    line: int
    name: str
    why: str

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}: {self.name!r}: {self.why}"


def tracked_docs(root: Path = ROOT) -> list[Path]:
    """The tracked README.md, library.properties and library.json files (git ls-files)."""
    out = subprocess.run(["git", "ls-files", "-z", "--", "*README.md", "*library.properties", "*library.json"],
                         cwd=root, capture_output=True, text=True, check=True).stdout
    return sorted(root / rel for rel in out.split("\0") if rel and (root / rel).is_file())


def code_spans(text: str) -> list[tuple[int, str]]:
    """(line number, code) for every line of a fenced block (backslash continuations joined) and every
    `inline` span (1-based lines)."""
    spans: list[tuple[int, str]] = []
    fenced = False
    held: tuple[int, str] | None = None  # a fenced line ending in a backslash, joined with the next
    for no, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            if held is not None:
                no, line = held[0], held[1] + " " + line.lstrip()
                held = None
            if line.rstrip().endswith("\\"):
                held = (no, line.rstrip()[:-1])
            else:
                spans.append((no, line))
        else:
            spans.extend((no, m.group(1)) for m in re.finditer(r"`([^`]+)`", line))
    return spans


# ---------------------------------------------------------------- paths

PATH_RE = re.compile(r"(?<![\w./:~$-])((?:%s)/[\w./<>*{}-]*|(?:%s)\b)" % (
    "|".join(re.escape(d) for d in TOP_DIRS), "|".join(re.escape(f) for f in TOP_FILES)))
RELATIVE_RE = re.compile(r"^[\w.][\w.-]*(?:/[\w.-]+)*/?$")


@lru_cache(maxsize=None)
def _ignored(rel: str) -> bool:
    """True when git ignores rel (a generated output such as model/stream/208.json)."""
    return subprocess.run(["git", "check-ignore", "-q", "--no-index", "--", rel], cwd=ROOT).returncode == 0


@lru_cache(maxsize=None)
def _tracked_names(folder: Path) -> frozenset[str]:
    """Base names of the files tracked under folder (and of their folders)."""
    out = subprocess.run(["git", "ls-files", "-z", "--", "."], cwd=folder, capture_output=True, text=True,
                         check=True).stdout
    return frozenset(part for rel in out.split("\0") if rel for part in rel.split("/"))


def _path_exists(name: str, doc_dir: Path) -> bool:
    """name exists from the project or the doc's folder, is a git-ignored output, or (a bare file
    name in a doc below the project root) is tracked somewhere under the doc's folder."""
    clean = name.rstrip(".,:;")
    if not clean.rstrip("/"):
        return True
    if (ROOT / clean).exists() or (doc_dir / clean).exists():
        return True
    if any((ROOT / clean).parent.glob((ROOT / clean).name + ".*")):  # a WFDB record: data/records/208_5min
        return True
    if "/" not in clean.rstrip("/") and doc_dir != ROOT and clean.rstrip("/") in _tracked_names(doc_dir):
        return True
    return _ignored(clean) or _ignored(str((doc_dir / clean).relative_to(ROOT)) + ("/" if clean.endswith("/") else ""))


def stale_paths(doc: Path, text: str) -> list[Stale]:
    """Repository paths (anywhere) and doc-relative paths (in backticks) that do not exist."""
    rel_doc = str(doc.relative_to(ROOT))
    found: list[Stale] = []
    seen: set[tuple[int, str]] = set()
    lines = text.splitlines()
    for no, line in enumerate(lines, 1):
        for m in PATH_RE.finditer(line):
            seen.add((no, m.group(1)))
    for no, code in code_spans(text):
        token = code.strip()
        looks_like_file = token.rsplit(".", 1)[-1] in FILE_SUFFIXES or token.endswith("/") \
            or (doc.parent / token.split("/")[0]).is_dir()
        if RELATIVE_RE.match(token) and looks_like_file \
                and not token.startswith(("tinybeat.", ".pio", ".venv", ".platformio")) \
                and not _is_python_name(token):
            if doc.parent != ROOT:  # the project README's bare names are mostly generated files; paths are above
                seen.add((no, token))
    for no, name in sorted(seen):
        if PLACEHOLDER.search(name) or re.search(r"\.\.?/", name):
            continue
        if not _path_exists(name, doc.parent):
            found.append(Stale(rel_doc, no, name, "no such file or folder (not tracked, not a git-ignored output)"))
    return found


# ---------------------------------------------------------------- Python names

NAME_RE = re.compile(r"(?<![\w./-])(tinybeat(?:\.[A-Za-z_]\w*)+)")


def _is_python_name(token: str) -> bool:
    return token.startswith("tinybeat.") and token.rsplit(".", 1)[-1] not in FILE_SUFFIXES


@lru_cache(maxsize=None)
def _top_level_names(module_file: str) -> dict[str, set[str]]:
    """{name: names inside it} for a module's top-level defs, classes, assignments and imports."""
    tree = ast.parse(Path(module_file).read_text(), module_file)
    names: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names[node.name] = set()
        elif isinstance(node, ast.ClassDef):
            inner = {n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
            inner |= {t.id for n in node.body if isinstance(n, ast.Assign) for t in n.targets
                      if isinstance(t, ast.Name)}
            inner |= {n.target.id for n in node.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
            names[node.name] = inner
        elif isinstance(node, ast.Assign):
            names.update({t.id: set() for t in node.targets if isinstance(t, ast.Name)})
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = set()
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update({(a.asname or a.name).split(".")[0]: set() for a in node.names})
    return names


@lru_cache(maxsize=None)
def _data_keys() -> frozenset[str]:
    """Dotted keys of the board manifests and model/config.yaml, and every section.key the config
    schema (tinybeat.pipeline.config.Config) accepts: tinybeat.max_model_flash, upload.maximum_size,
    search.metric are keys, not modules."""
    import dataclasses
    import typing

    import json

    import yaml

    keys: set[str] = set()

    def walk(obj, prefix: str) -> None:
        if isinstance(obj, dict):
            for key, value in obj.items():
                keys.add(prefix + key)
                walk(value, prefix + key + ".")
    for manifest in (ROOT / "pio" / "platforms").glob("*/boards/*.json"):
        walk(json.loads(manifest.read_text()), "")
    walk(yaml.safe_load((ROOT / "model" / "config.yaml").read_text()), "")
    from tinybeat.pipeline import config

    for section, kind in typing.get_type_hints(config.Config).items():
        if dataclasses.is_dataclass(kind):
            keys |= {f"{section}.{f.name}" for f in dataclasses.fields(kind)}
    return frozenset(keys)


def python_name_problem(name: str) -> str | None:
    """None when name is a module of the package, or an attribute defined in one, or a key of the
    board manifests; else why not."""
    if name in _data_keys():
        return None
    parts = name.split(".")
    module_end = 0
    for i in range(1, len(parts) + 1):
        try:
            spec = importlib.util.find_spec(".".join(parts[:i]))
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            break
        module_end = i
    if module_end == len(parts):
        return None
    module = ".".join(parts[:module_end])
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return f"no module {'.'.join(parts[:module_end + 1])}"
    rest = parts[module_end:]
    names = _top_level_names(spec.origin)
    if rest[0] not in names:
        return f"no module {module}.{rest[0]} and {module} defines no {rest[0]}"
    if len(rest) > 1 and names[rest[0]] and rest[1] not in names[rest[0]]:
        return f"{module}.{rest[0]} defines no {rest[1]}"
    return None


SHORT_RE = re.compile(r"(?<!`)`([a-z_]\w*)\.([A-Za-z_]\w*)(?:\(\))?`(?!`)")


@lru_cache(maxsize=None)
def _leaf_modules() -> dict[str, tuple[str, ...]]:
    """{leaf name: full module names} of the package's modules (early_exit -> tinybeat.core.families.early_exit)."""
    package = ROOT / "python"
    leaves: dict[str, list[str]] = {}
    for path in (package / "tinybeat").rglob("*.py"):
        if path.stem == "__init__":
            continue
        full = ".".join(path.relative_to(package).with_suffix("").parts)
        leaves.setdefault(path.stem, []).append(full)
    return {leaf: tuple(sorted(fulls)) for leaf, fulls in leaves.items()}


def stale_python_names(rel: str, text: str) -> list[Stale]:
    """tinybeat.x.y names (and `python -m` modules) in text that name no module or attribute, and
    `leaf.attr` spans (`early_exit.measure_avr`) whose module defines no such attribute."""
    found = []
    for no, line in enumerate(text.splitlines(), 1):
        for name in sorted({m.group(1) for m in NAME_RE.finditer(line)}):
            if not _is_python_name(name):
                continue
            why = python_name_problem(name)
            if why:
                found.append(Stale(rel, no, name, why))
        for m in SHORT_RE.finditer(line):
            leaf, attr = m.groups()
            fulls = _leaf_modules().get(leaf, ())
            if not fulls or attr in FILE_SUFFIXES or f"{leaf}.{attr}" in _data_keys():
                continue
            if all(python_name_problem(f"{full}.{attr}") for full in fulls):
                found.append(Stale(rel, no, f"{leaf}.{attr}", f"{' / '.join(fulls)} defines no {attr}"))
    return found


# ---------------------------------------------------------------- commands

CMD_END = re.compile(r"\s(?:#|\||&&|;|>)(?:\s|$)|\s\(|\s*[─►◄│┘┐└┌]")


class _ParseError(Exception):
    pass


def _raising(parser) -> None:
    """Make parser (and its subparsers) raise _ParseError instead of printing and exiting."""
    def error(message: str):
        raise _ParseError(message)
    parser.error = error
    for sub in _subparsers(parser).values():
        _raising(sub)


def _subparsers(parser) -> dict:
    """{name: subparser} of parser's subcommands (empty without any)."""
    import argparse

    return next((dict(a.choices) for a in parser._actions if isinstance(a, argparse._SubParsersAction)), {})


@lru_cache(maxsize=None)
def _cli():
    from tinybeat.cli import build_parser

    parser = build_parser()
    _raising(parser)
    return parser


def _command_tokens(code: str, start: int) -> list[str]:
    """The shell words of one command from code[start:], up to a comment, pipe, ; or a prose '('."""
    rest = code[start:]
    end = CMD_END.search(rest)
    try:
        return shlex.split(rest[:end.start()] if end else rest)
    except ValueError:
        return rest.split()


def tinybeat_problem(words: list[str]) -> str | None:
    """None when `tinybeat WORDS` parses with tinybeat.cli.build_parser(), or names a subcommand and its
    options in prose (`tinybeat predict`, `tinybeat monitor --port`); else the parser's reason."""
    if not words:
        return None
    why = _parse(words)
    if why and ("required" in why or "expected one argument" in why):
        return _flags_problem(words)  # a command named in prose, without its values: they must exist
    return why


def _parse(words: list[str]) -> str | None:
    if any(PLACEHOLDER.search(w) or re.fullmatch(r"[A-Z][A-Z0-9_]*", w) for w in words):
        # an example with placeholders: check only the subcommand and the flags
        return _flags_problem(words)
    try:
        _cli().parse_args(words)
    except _ParseError as err:
        return str(err)
    except SystemExit:  # --help / --version
        return None
    return None


def _flags_problem(words: list[str]) -> str | None:
    parser = _cli()
    subs = _subparsers(parser)
    if words[0] not in subs:
        return f"no subcommand {words[0]!r} (have: {', '.join(sorted(subs))})"
    known = set(parser._option_string_actions) | set(subs[words[0]]._option_string_actions)
    bad = [w.split("=")[0] for w in words[1:] if w.startswith("-") and len(w) > 1 and w.split("=")[0] not in known]
    return f"tinybeat {words[0]} has no option {bad[0]}" if bad else None


@lru_cache(maxsize=None)
def pio_envs() -> frozenset[str]:
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(ROOT / "platformio.ini")
    return frozenset(s.split(":", 1)[1] for s in ini.sections() if s.startswith("env:"))


@lru_cache(maxsize=None)
def pio_targets() -> frozenset[str]:
    """PlatformIO's own targets plus the project's AddCustomTarget names."""
    names = set(PIO_BUILTIN_TARGETS)
    scripts = [*(ROOT / "extra_scripts").glob("*.py"), *(ROOT / "python" / "tinybeat" / "integrations").glob("*.py")]
    for script in scripts:
        names |= set(re.findall(r"AddCustomTarget\(\s*name\s*=\s*[\"'](\w+)[\"']", script.read_text()))
    return frozenset(names)


def pio_problem(words: list[str]) -> str | None:
    """None when `pio run|test ...` names existing envs and targets."""
    for flag, value in zip(words, words[1:]):
        if PLACEHOLDER.search(value) or value.isupper():  # ENV, <env>: placeholders
            continue
        if flag in ("-e", "--environment") and value not in pio_envs():
            return f"platformio.ini has no env {value!r}"
        if flag in ("-t", "--target") and value not in pio_targets():
            return f"no PlatformIO target {value!r}"
    return None


@lru_cache(maxsize=None)
def run_sh_modes() -> frozenset[str]:
    """The modes of run.sh's final `case` (`word)` or `word|other)` labels)."""
    text = (ROOT / "run.sh").read_text()
    block = text[text.rindex("case "):]
    return frozenset(m for label in re.findall(r"^\s*([\w|-]+)\)", block, flags=re.M) for m in label.split("|"))


def run_sh_problem(words: list[str]) -> str | None:
    """None when `./run.sh MODE [--option]` names a mode of run.sh and options its text handles."""
    if words and words[0] not in run_sh_modes():
        return f"run.sh has no mode {words[0]!r} (have: {', '.join(sorted(run_sh_modes()))})"
    text = (ROOT / "run.sh").read_text()
    unknown = [w for w in words[1:] if w.startswith("-") and f"{w})" not in text]
    return f"run.sh handles no option {unknown[0]!r} (no '{unknown[0]})' case)" if unknown else None


COMMANDS = (
    (re.compile(r"(?:^|(?<=[\s`(]))(?:\S*python3?\s+-m\s+tinybeat|\S*bin/tinybeat|tinybeat)\s+(?=[a-z-])"), "tinybeat",
     tinybeat_problem),
    (re.compile(r"(?:^|(?<=[\s`(]))(?:\S*/)?pio\s+(?=run\b|test\b)"), "pio", pio_problem),
    (re.compile(r"(?:^|(?<=[\s`(]))\./run\.sh\s+(?=[a-z-])"), "./run.sh", run_sh_problem),
)


def stale_commands(doc: Path, text: str) -> list[Stale]:
    """tinybeat / pio / run.sh commands in code that do not parse or name what does not exist."""
    rel = str(doc.relative_to(ROOT))
    found = []
    for no, code in code_spans(text):
        for pattern, program, check in COMMANDS:
            for m in pattern.finditer(code):
                words = _command_tokens(code, m.end())
                if program == "pio":
                    words = words[1:]
                why = check(words)
                if why:
                    found.append(Stale(rel, no, f"{program} {' '.join(words)}".strip(), why))
    return found
