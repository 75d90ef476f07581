"""Every command the docs show exists, with the options they give it.

The ```sh / ```bash blocks of README.md and docs/**/*.md are read line by line (a trailing backslash
continues a line; `VAR=value` prefixes and `# comments` are dropped). A line that runs
`headscope` / `.venv/bin/headscope` must name a real command, whose `--help` works, and use only
options that command has; `make X` needs a target X (`make -n X` succeeds); `python bench/X.py` /
`.venv/bin/python bench/X.py` needs the script, and its `--help` must work.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from functools import cache, lru_cache
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from app.cli import cli

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```(sh|bash|shell)\s*$")
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def shell_lines(text: str) -> list[str]:
    """The command lines of a Markdown text's sh/bash code blocks, continuation lines joined."""
    lines: list[str] = []
    inside, pending = False, ""
    for raw in text.splitlines():
        if not inside:
            inside = bool(FENCE.match(raw.strip()))
            continue
        if raw.strip().startswith("```"):
            inside, pending = False, ""
            continue
        line = pending + raw.strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        if line:
            lines.append(line)
    return lines


def words(line: str) -> list[str]:
    """The line's words, without the comment and the leading VAR=value assignments."""
    try:
        tokens = shlex.split(line, comments=True)
    except ValueError:  # an unbalanced quote: a JSON body continued on the next line, say
        tokens = line.split("#", 1)[0].split()
    while tokens and ASSIGNMENT.match(tokens[0]):
        tokens.pop(0)
    return tokens


def kind(tokens: list[str]) -> str | None:
    if not tokens:
        return None
    first = tokens[0]
    if first in ("headscope", ".venv/bin/headscope"):
        return "headscope"
    if first == "make":
        return "make"
    if first in ("python", "python3", ".venv/bin/python") and len(tokens) > 1 and tokens[1].startswith("bench/"):
        return "bench"
    return None


def documented_commands() -> list[tuple[str, str, list[str]]]:
    """(where, the line, its words) for every line the checks cover."""
    found = []
    for path in doc_files():
        for line in shell_lines(path.read_text(encoding="utf-8")):
            tokens = words(line)
            if kind(tokens):
                found.append((str(path.relative_to(ROOT)), line, tokens))
    return found


# --- the checks -----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def click_root():
    return typer.main.get_command(cli)


def resolve(args: list[str]) -> tuple[list[str], object]:
    """(the command words, the command) that `headscope ARGS` runs: sub-commands are followed as far as they go."""
    command, path = click_root(), []
    for word in args:
        if word.startswith("-") or not hasattr(command, "list_commands"):
            break
        sub = command.get_command(None, word)
        if sub is None:
            raise LookupError(f"`headscope {' '.join(path + [word])}` is not a command")
        command, path = sub, path + [word]
    return path, command


@cache
def help_text(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(cli, [*path, "--help"], env={"COLUMNS": "300", "TERMINAL_WIDTH": "300"})
    if result.exit_code != 0:
        raise AssertionError(f"`headscope {' '.join(path)} --help` exited {result.exit_code}: {result.output}")
    return result.output


def check_headscope(tokens: list[str]) -> list[str]:
    args = tokens[1:]
    try:
        path, command = resolve(args)
    except LookupError as error:
        return [str(error)]
    text = help_text(tuple(path))
    known = {name for param in command.params for name in (*param.opts, *getattr(param, "secondary_opts", []))}
    known |= {"--help"}
    problems = []
    for word in args:
        if word.startswith("--"):
            option = word.split("=", 1)[0]
            if option not in known or option not in text:
                problems.append(f"`headscope {' '.join(path)}` has no option {option}")
        elif re.fullmatch(r"-[A-Za-z]", word) and word not in known:
            problems.append(f"`headscope {' '.join(path)}` has no option {word}")
    return problems


def check_make(tokens: list[str]) -> list[str]:
    targets = [t for t in tokens[1:] if not t.startswith("-") and "=" not in t]
    problems = []
    for target in targets:
        done = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            problems.append(f"`make {target}`: {done.stderr.strip() or 'no such target'}")
    return problems


@cache
def check_bench_script(script: str) -> tuple[str, ...]:
    path = ROOT / script
    if not path.is_file():
        return (f"{script} does not exist",)
    done = subprocess.run([sys.executable, script, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        return (f"`python {script} --help` exited {done.returncode}: {done.stderr.strip()[-400:]}",)
    return ()


def check(tokens: list[str]) -> list[str]:
    what = kind(tokens)
    if what == "headscope":
        return check_headscope(tokens)
    if what == "make":
        return check_make(tokens)
    if what == "bench":
        return list(check_bench_script(tokens[1]))
    return []


# --- the tests ------------------------------------------------------------------------------------


def test_the_docs_show_commands() -> None:
    found = documented_commands()
    kinds = {kind(tokens) for _, _, tokens in found}
    assert {"headscope", "make"} <= kinds, kinds
    assert len(found) > 30  # README + how-to + results: if this drops, the extraction broke


def test_every_documented_command_and_option_exists() -> None:
    problems = []
    for where, line, tokens in documented_commands():
        problems += [f"{where}: {problem}\n    {line}" for problem in check(tokens)]
    assert not problems, "the docs show commands that do not exist:\n" + "\n".join(problems)


PLANTED = """
Some prose with `headscope nosuchcommand` that is not in a code block.

```sh
.venv/bin/headscope analyze --model demo-re --data demo-re --no-such-option 3
HEADSCOPE_SHARED_DATA=../shared/data headscope train absa --data x.jsonl --format qa-m \\
    --out y --made-up-flag
headscope nosuchcommand --help
make no-such-target
python bench/no_such_bench.py --threads 1
headscope analyze --model demo-re --data demo-re --limit 20   # fine
```
"""


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (0, "has no option --no-such-option"),
        (1, "has no option --made-up-flag"),
        (2, "`headscope nosuchcommand` is not a command"),
        (3, "`make no-such-target`"),
        (4, "bench/no_such_bench.py does not exist"),
    ],
)
def test_a_planted_bad_command_fails(index: int, expected: str) -> None:
    lines = [words(line) for line in shell_lines(PLANTED)]
    assert len(lines) == 6
    problems = check(lines[index])
    assert any(expected in problem for problem in problems), problems
    assert check(lines[5]) == []
