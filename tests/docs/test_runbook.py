"""Every ``hub`` command line the runbook quotes is one the CLI accepts, options included."""

from __future__ import annotations

import re
import shlex

import pytest
from typer.testing import CliRunner

from hub.cli.main import app
from hub.core.settings import PROJECT_ROOT

RUNBOOK = PROJECT_ROOT / "docs" / "runbook.md"
_ASSIGNMENT = re.compile(r"^[A-Z_]+=\S*$")


def quoted_commands(markdown: str) -> list[str]:
    """The ``hub …`` command lines in inline code and in code blocks, environment prefix kept."""
    found = []
    code_spans = re.findall(r"(?<!`)`([^`\n]+)`(?!`)", markdown)
    block_lines = [
        line.strip()
        for block in re.findall(r"```[a-z]*\n(.*?)```", markdown, flags=re.DOTALL)
        for line in block.splitlines()
    ]
    for text in [*code_spans, *block_lines]:
        words = shlex.split(text)
        while words and _ASSIGNMENT.match(words[0]):
            words = words[1:]
        if words[:1] == ["hub"] and len(words) > 1:
            found.append(text)
    return found


COMMANDS = quoted_commands(RUNBOOK.read_text(encoding="utf-8"))


def _words(command: str) -> list[str]:
    """The command's arguments after ``hub``, without an environment prefix."""
    words = shlex.split(command)
    while _ASSIGNMENT.match(words[0]):
        words = words[1:]
    return words[1:]


def test_the_runbook_quotes_the_commands_an_operator_needs() -> None:
    used = {next(w for w in _words(c) if not w.startswith("-")) for c in COMMANDS}
    needed = {"status", "collect", "fanout", "token", "pull", "reconcile", "report", "init-db"}
    assert needed <= used


@pytest.mark.parametrize("command", COMMANDS)
def test_a_quoted_command_parses(command: str) -> None:
    # --help is eager: the command path and every option are checked, nothing runs.
    result = CliRunner().invoke(app, [*_words(command), "--help"])
    assert result.exit_code == 0, f"{command!r}: {result.output}"
    assert "Usage: " in result.output
