"""The saved client profile: server URL and API token (``jitgate login``).

Stored at ``$JITGATE_CONFIG_DIR/profile.json`` (default ``~/.config/jitgate``) with mode 0600;
``JITGATE_URL`` and ``JITGATE_TOKEN`` override it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from jitgate.cli.errors import CliError


def config_dir() -> Path:
    """Return the directory holding the profile."""
    override = os.environ.get("JITGATE_CONFIG_DIR")
    return Path(override) if override else Path.home() / ".config" / "jitgate"


@dataclass(frozen=True, slots=True)
class Profile:
    """Where the server is and how to authenticate."""

    url: str
    token: str


def load_profile() -> Profile:
    """Return the profile from the environment or the saved file."""
    url = os.environ.get("JITGATE_URL")
    token = os.environ.get("JITGATE_TOKEN")
    path = config_dir() / "profile.json"
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
    directory = config_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "profile.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"url": profile.url, "token": profile.token}, handle)
    return path
