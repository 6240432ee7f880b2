"""The CLI's own settings: ``JITGATE_CONFIG_DIR``, ``JITGATE_URL`` and ``JITGATE_TOKEN``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from jitgate.cli.errors import CliError
from jitgate.cli.profile import ClientSettings, Profile, load_profile, save_profile

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("JITGATE_CONFIG_DIR", "JITGATE_URL", "JITGATE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_the_profile_lives_under_the_home_unless_the_variable_says(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JITGATE_CONFIG_DIR", "")  # empty counts as unset
    assert ClientSettings().config_dir == home / ".config" / "jitgate"
    monkeypatch.setenv("JITGATE_CONFIG_DIR", str(home / "elsewhere"))
    path = save_profile(Profile(url="http://saved", token="jg_saved"))
    assert path == home / "elsewhere" / "profile.json"
    assert load_profile() == Profile(url="http://saved", token="jg_saved")


def test_the_variables_override_the_saved_profile(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_profile(Profile(url="http://saved", token="jg_saved"))
    monkeypatch.setenv("JITGATE_URL", "http://env/")
    assert load_profile() == Profile(url="http://env", token="jg_saved")
    monkeypatch.setenv("JITGATE_TOKEN", "jg_env")
    assert load_profile() == Profile(url="http://env", token="jg_env")


def test_without_a_profile_or_variables_the_cli_is_not_logged_in(home: Path) -> None:
    assert not (home / ".config").exists()
    with pytest.raises(CliError, match="not logged in"):
        load_profile()
