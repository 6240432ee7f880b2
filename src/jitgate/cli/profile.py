"""The saved client profile: server URL and API token (``jitgate login``).

Stored at ``$JITGATE_CONFIG_DIR/profile.json`` (default ``~/.config/jitgate``) with mode 0600;
``JITGATE_URL`` and ``JITGATE_TOKEN`` override it. The three variables are the CLI's own
settings (``ClientSettings``), read when a command needs them; an empty one counts as unset.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from jitgate.cli.errors import CliError


class ClientSettings(BaseSettings):
    """Where the profile is kept, and the server and token that override it."""

    model_config = SettingsConfigDict(env_prefix="JITGATE_", extra="ignore", env_ignore_empty=True)

    config_dir: Path = Field(
        default_factory=lambda: Path.home() / ".config" / "jitgate",
        description="Directory holding profile.json.",
    )
    url: str | None = Field(default=None, description="Server URL; overrides the profile's.")
    token: str | None = Field(default=None, description="API token; overrides the profile's.")


@dataclass(frozen=True, slots=True)
class Profile:
    """Where the server is and how to authenticate."""

    url: str
    token: str


def load_profile() -> Profile:
    """Return the profile from the environment or the saved file."""
    settings = ClientSettings()
    url, token = settings.url, settings.token
    path = settings.config_dir / "profile.json"
    if (not url or not token) and path.is_file():
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise CliError(f"cannot read {path}: {err}") from err
        url = url or saved.get("url")
        token = token or saved.get("token")
    if not url or not token:
        raise CliError("not logged in: run `jitgate login --url URL --token TOKEN`")
    return Profile(url=url.rstrip("/"), token=token)


def save_profile(profile: Profile) -> Path:
    """Write the profile, readable by its owner only."""
    directory = ClientSettings().config_dir
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "profile.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"url": profile.url, "token": profile.token}, handle)
    return path
