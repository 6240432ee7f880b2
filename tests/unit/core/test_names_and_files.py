"""The one name check, and the permissions of the files jitgate creates."""

from __future__ import annotations

import stat

import pytest

from jitgate.core.db import make_engine
from jitgate.core.names import NameRule, name_problem


@pytest.mark.parametrize(
    "name", ["Contoso Entra", "Zürich ops", "東京-本社", "Москва 2", "Ελλάδα_1", "café.prod"]
)
def test_identifier_names_take_letters_and_digits_of_any_script(name):
    assert name_problem(name, NameRule.IDENTIFIER) is None


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("pay\u200broll", "invisible"),
        ("pay\u202eroll", "invisible"),
        ("pay\u00a0roll", "invisible"),
        ("   ", "only spaces"),
        (" payroll", "start or end"),
        ("pay  roll", "two spaces"),
        ("P\u0430yroll", "mix Cyrillic and Latin"),
        ("\uff50ay", "look-alike"),
        ("_payroll", "letters, digits"),
        ("pay/roll", "letters, digits"),
    ],
)
def test_refused_names_say_why_in_words(name, words):
    problem = name_problem(name, NameRule.IDENTIFIER)
    assert problem is not None
    assert words in problem
    assert "^" not in problem
    assert "[" not in problem


def test_text_names_take_punctuation_but_not_invisible_characters():
    assert name_problem("Ops groups, 2h (manager approves)", NameRule.TEXT) is None
    assert name_problem("laptop\u2066", NameRule.TEXT) is not None


def test_the_sqlite_file_and_its_directory_are_private(tmp_path):
    data = tmp_path / "data" / "dir"
    engine = make_engine(f"sqlite:///{data / 'jitgate.db'}")
    with engine.connect() as connection:
        connection.exec_driver_sql("create table t (x int)")
        connection.commit()
    engine.dispose()
    assert stat.S_IMODE((data / "jitgate.db").stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
