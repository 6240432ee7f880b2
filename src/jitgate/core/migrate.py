"""Run Alembic migrations from code: upgrade (``jitgate db upgrade``, ``jitgate up``), downgrade."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def _script_location() -> Path:
    here = Path(__file__).resolve()
    for candidate in (here.parents[3] / "migrations", here.parents[1] / "_migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("the Alembic migrations directory is missing from this install")


def alembic_config(engine: Engine | None = None) -> Config:
    """Return an Alembic config pointing at jitgate's migrations."""
    config = Config()
    config.set_main_option("script_location", str(_script_location()))
    if engine is not None:
        config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database behind ``engine`` to ``revision``."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database behind ``engine`` back to ``revision`` (``"-1"``, ``"base"``, an id)."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def pending_revisions(engine: Engine) -> bool:
    """Tell whether the database is behind the newest migration."""
    script = ScriptDirectory.from_config(alembic_config())
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current != set(script.get_heads())
