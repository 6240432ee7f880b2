"""The connector's settings: overrides, then ``JITGATE_CONNECTOR_*``, then the ``--config`` file."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from pydantic import ValidationError

from config_docs import documented, matches
from jitgate.connector.config import ENV_PREFIX, AgentConfig

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in AgentConfig.model_fields:
        monkeypatch.delenv(f"{ENV_PREFIX}{name.upper()}", raising=False)


def _yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "connector.yaml"
    path.write_text(text)
    return path


def test_a_file_key_that_names_no_setting_is_an_error_naming_it(tmp_path: Path) -> None:
    path = _yaml(tmp_path, "url: http://server\ntoken: jg_ct_x\nconcurency: 4\n")
    with pytest.raises(ValidationError) as caught:
        AgentConfig.load(path)
    errors = caught.value.errors()
    assert [(e["loc"], e["type"]) for e in errors] == [(("concurency",), "extra_forbidden")]


def test_a_json_file_with_an_unknown_key_is_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "connector.json"
    path.write_text(json.dumps({"url": "http://server", "token": "jg_ct_x", "URL": "x"}))
    with pytest.raises(ValidationError) as caught:
        AgentConfig.load(path)
    assert [e["loc"] for e in caught.value.errors()] == [("URL",)]


def test_the_environment_overrides_the_file_and_options_override_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _yaml(tmp_path, "url: http://file\ntoken: jg_ct_file\nconcurrency: 3\nwrite_budget: 9\n")
    monkeypatch.setenv("JITGATE_CONNECTOR_CONCURRENCY", "5")
    monkeypatch.setenv("JITGATE_CONNECTOR_URL", "http://env")
    from_env = AgentConfig.load(path, url=None, concurrency=None)
    assert (from_env.url, from_env.concurrency, from_env.write_budget) == ("http://env", 5, 9)
    assert from_env.token.get_secret_value() == "jg_ct_file"
    given = AgentConfig.load(path, url="http://option", concurrency=7)
    assert (given.url, given.concurrency) == ("http://option", 7)


def test_an_unknown_connector_variable_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JITGATE_CONNECTOR_BODY_LIMIT_BYTES", "1024")  # the server's setting
    monkeypatch.setenv("JITGATE_CONNECTOR_TOKEN", "jg_ct_env")
    config = AgentConfig.load(None, url="http://option")
    assert config.token.get_secret_value() == "jg_ct_env"


def test_a_config_built_directly_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JITGATE_CONNECTOR_CONCURRENCY", "5")
    config = AgentConfig(url="http://server", token="jg_ct_x")
    assert config.concurrency == AgentConfig.model_fields["concurrency"].default


@pytest.mark.parametrize("text", ["", "- url\n- token\n"])
def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path, text: str) -> None:
    path = _yaml(tmp_path, text)
    with pytest.raises(ValueError, match="expected a mapping of settings"):
        AgentConfig.load(path, url="http://option", token="jg_ct_x")


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        AgentConfig.load(tmp_path / "absent.yaml", url="http://option", token="jg_ct_x")


def test_the_documented_defaults_are_the_models() -> None:
    rows = documented("Connector")
    fields = {
        f"{ENV_PREFIX}{name.upper()}": info for name, info in AgentConfig.model_fields.items()
    }
    assert sorted(rows) == sorted(fields)
    wrong = {
        var: (rows[var], info.default)
        for var, info in fields.items()
        if not matches(rows[var], info)
    }
    assert wrong == {}
