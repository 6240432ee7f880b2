"""``demo.json``: what ``jitgate up`` tells ``jitgate demo`` (URLs, people, tokens, the emulator).

Written to the data dir with mode 0600 on every start; it holds API tokens and the emulator app's
(throw-away) client secret, so it is readable by its owner only.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from pathlib import Path

FILE_NAME = "demo.json"


class DemoPerson(BaseModel):
    """A demo person and the API token ``jitgate up`` issued them."""

    upn: str
    display_name: str
    role: str
    token: str


class EmulatorInfo(BaseModel):
    """Where the emulator is and the connector app's credentials (``/_emulator/info``)."""

    model_config = ConfigDict(extra="ignore")

    authority_host: str
    graph_url: str
    ca_bundle: str
    tenant_id: str
    client_id: str
    client_secret: str


class SignInPerson(BaseModel):
    """A demo person who signs in on the emulator's page: password and TOTP secret."""

    key: str
    upn: str
    role: str
    password: str
    totp_secret: str | None


class SignInInfo(BaseModel):
    """The Entra sign-in side of the demo: jitgate's apps and the people to sign in as."""

    portal_client_id: str
    portal_client_secret: str
    cli_client_id: str
    browser_base_url: str | None
    people: list[SignInPerson]


class DemoInfo(BaseModel):
    """Everything ``jitgate demo`` needs to drive a running ``jitgate up``."""

    url: str
    integration_id: str
    demo_group: str
    people: dict[str, DemoPerson]
    emulator: EmulatorInfo
    sign_in: SignInInfo | None = None  # absent in a demo.json from before sign-in existed


def info_path(data_dir: Path) -> Path:
    """Where ``demo.json`` lives."""
    return data_dir / FILE_NAME


def save_info(data_dir: Path, info: DemoInfo) -> Path:
    """Write ``demo.json`` readable by its owner only."""
    path = info_path(data_dir)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(info.model_dump_json(indent=2))
    path.chmod(0o600)
    return path


def load_info(data_dir: Path) -> DemoInfo | None:
    """Read ``demo.json``; None when there is none."""
    path = info_path(data_dir)
    if not path.is_file():
        return None
    return DemoInfo.model_validate(json.loads(path.read_text()))
