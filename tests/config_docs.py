"""The settings tables of ``docs/configuration.md``, read back so tests can hold models to them.

A default is written once, on its field; the docs table repeats it for readers, and the tests
compare the two so they cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic_core import PydanticUndefined

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def documented(section: str) -> dict[str, str]:
    """Variable name to the default column of the table under the ``## <section>`` heading."""
    rows: dict[str, str] = {}
    inside = False
    for line in DOC.read_text().splitlines():
        if line.startswith("## "):
            inside = line.removeprefix("## ").startswith(section)
            continue
        if not inside or not line.startswith("| `"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert len(cells) == 3, f"a row of three cells: {line}"
        rows[cells[0].strip("`")] = cells[1].strip("`")
    return rows


def shown(info: FieldInfo) -> str:
    """How the docs show a field's default: as written, empty for none, "(computed)" or a note
    in angle brackets for one computed when it is needed."""
    if info.default_factory is not None:
        return "(computed)"
    if info.default is PydanticUndefined or info.default is None:
        return ""
    return str(info.default)


def matches(documented_default: str, info: FieldInfo) -> bool:
    """The docs' default is the field's (an ``<…>`` note stands for a default left unset)."""
    if documented_default.startswith("<") and info.default is None:
        return True
    return documented_default == shown(info)
