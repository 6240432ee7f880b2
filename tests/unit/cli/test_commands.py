"""The lazy command table matches what the command modules really register."""

from __future__ import annotations

import importlib

import pytest
import typer

from jitgate.cli.commands import COMMANDS, MODULES, modules_for
from jitgate.cli.main import run


def _names(app: typer.Typer) -> set[str]:
    commands = {c.name or c.callback.__name__ for c in app.registered_commands if c.callback}
    return commands | {g.name for g in app.registered_groups if g.name}


@pytest.mark.parametrize("module", MODULES)
def test_each_module_registers_exactly_the_commands_mapped_to_it(module):
    app = typer.Typer()
    importlib.import_module(f"jitgate.cli.{module}").register(app)
    assert _names(app) == {name for name, owner in COMMANDS.items() if owner == module}


def test_a_command_line_loads_only_its_module():
    assert modules_for(["audit", "list", "--output", "json"]) == ("audit_cmd",)
    assert modules_for(["request", "list"]) == ("request_cmd",)


def test_help_no_command_or_a_typo_load_everything():
    assert modules_for([]) == MODULES
    assert modules_for(["--help"]) == MODULES
    assert modules_for(["reqest", "list"]) == MODULES


def test_a_typo_gets_click_usage_error_with_exit_2(capsys):
    assert run(["reqest"]) == 2
    assert "No such command" in capsys.readouterr().err
