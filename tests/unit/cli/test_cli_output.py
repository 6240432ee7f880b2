"""Tables fit the terminal, show whole unique id prefixes, and the same CLI accepts them."""

from __future__ import annotations

import json
import re
import uuid

import pytest
import typer.main

from jitgate.cli import commands
from jitgate.cli.errors import CliError
from jitgate.cli.main import build_app, run
from jitgate.cli.output import Output, emit, unique_prefixes
from jitgate.cli.resolve import pick

ROWS = [
    {
        "id": f"ba119e2e-{n:04x}-4000-8000-{uuid.uuid4().hex[:12]}",
        "status": "pending",
        "grantee": {"upn": "grady.archie@contoso.onmicrosoft.example"},
        "flow_name": "Engineering groups: the manager or the resource owner approves",
        "created_at": "2026-12-02T10:00:00.123456+00:00",
    }
    for n in range(3)
] + [{"id": str(uuid.uuid4()), "status": "approved", "grantee": None, "flow_name": "x"}]
COLUMNS = ["id", "status", "grantee.upn", "flow_name", "created_at"]


@pytest.mark.parametrize("width", [80, 120])
def test_a_table_shows_whole_prefixes_that_resolve_back(width, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", str(width))
    emit({"items": ROWS}, Output.TABLE, COLUMNS)
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= width
    shown = [m.group(1) for line in lines if (m := re.match(r"^│ ([0-9a-f-]+) +│", line))]
    assert len(shown) == len(ROWS)
    assert "…" not in "".join(lines)
    for row, prefix in zip(ROWS, shown, strict=True):
        assert row["id"].startswith(prefix)
        assert pick(prefix, ROWS, "request", ()) == row["id"]


def test_prefixes_grow_until_unique_and_are_at_least_eight_long():
    ids = ["ba119e2e-0001-aaaa", "ba119e2e-0002-bbbb", "0123456789"]
    assert unique_prefixes(ids) == {
        "ba119e2e-0001-aaaa": "ba119e2e-0001",
        "ba119e2e-0002-bbbb": "ba119e2e-0002",
        "0123456789": "01234567",
    }


def test_names_resolve_and_ambiguity_lists_the_candidates():
    rows = [
        {"id": "11111111-a", "name": "Production Access"},
        {"id": "11111111-b", "name": "Finance"},
    ]
    assert pick("production access", rows, "resource", ("name",)) == "11111111-a"
    with pytest.raises(CliError) as info:
        pick("11111111", rows, "resource", ("name",))
    assert "11111111-a (Production Access)" in info.value.message
    assert "11111111-b (Finance)" in info.value.message
    with pytest.raises(CliError, match="no resource"):
        pick("nothing", rows, "resource", ("name",))


def _leaves(command, path):
    if hasattr(command, "commands"):
        return [
            leaf
            for name, sub in command.commands.items()
            for leaf in _leaves(sub, f"{path} {name}")
        ]
    return [(path, command)]


def test_every_command_takes_output():
    app = build_app(["--help"])
    leaves = _leaves(typer.main.get_command(app), "jitgate")
    assert len(leaves) > len(commands.COMMANDS)
    missing = [
        path
        for path, command in leaves
        if not any("--output" in getattr(p, "opts", ()) for p in command.params)
    ]
    assert missing == []


def test_help_never_shows_a_type_for_a_flag(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "120")
    app = build_app(["--help"])
    paths = [path.split()[1:] for path, _ in _leaves(typer.main.get_command(app), "jitgate")]
    for argv in [[], *paths, *{tuple(p[:1]) for p in paths if len(p) > 1}]:
        assert run([*argv, "--help"]) == 0
        shown = capsys.readouterr().out
        assert "--help" in shown
        assert "<bool>" not in shown, argv


@pytest.mark.parametrize(
    "argv",
    [
        ["request", "create", "-r", "x", "-d", "0"],
        ["request", "list", "--scope"],
        ["request", "approve"],
        ["people", "role", "someone", "boss"],
        ["reqest", "list"],
    ],
)
def test_a_usage_error_is_one_line_on_stderr_with_exit_2(argv, capsys):
    assert run(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ")
    assert captured.err.count("\n") == 1


def test_a_group_without_its_command_prints_its_help_and_no_empty_error(capsys):
    assert run(["request"]) == 2
    captured = capsys.readouterr()
    assert "approve" in captured.out
    assert captured.err == ""


def test_times_show_in_utc_to_the_minute_and_short_values_stay_whole(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")
    rows = [
        {
            "status": "revoking",
            "until": "2026-12-03T17:21:05.123456+01:00",
            "why": "INC-4711: the payroll database is on fire and needs a look " * 2,
        }
    ]
    emit(rows, Output.TABLE, ["status", "until", "why"])
    out = capsys.readouterr().out
    assert "2026-12-03 16:21" in out
    assert "revoking" in out
    assert "…" not in out
    emit(rows, Output.JSON)
    assert json.loads(capsys.readouterr().out)[0]["until"] == rows[0]["until"]
