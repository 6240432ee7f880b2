"""Every Markdown table in ``docs/`` and the README has as many cells in each row as its header.

GitHub renders a row with an extra cell by dropping what does not fit, and one with too few as
empty cells: either way a column's meaning goes missing without any warning. A pipe inside a
cell is written ``\\|`` (GitHub splits on a bare one even inside backticks).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [*sorted((ROOT / "docs").glob("**/*.md")), ROOT / "README.md"]
SEPARATOR = re.compile(r"^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?$")
PIPE = re.compile(r"(?<!\\)\|")


def cells(line: str) -> int:
    """How many cells GitHub sees in a table line."""
    text = line.strip()
    text = text.removeprefix("|")
    if text.endswith("|") and not text.endswith("\\|"):
        text = text[:-1]
    return len(PIPE.split(text))


def tables(text: str) -> list[tuple[int, str, list[tuple[int, str]]]]:
    """Each table: the header's line number, the header, and its rows with their numbers."""
    lines = text.splitlines()
    found: list[tuple[int, str, list[tuple[int, str]]]] = []
    fenced = False
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        is_header = line.lstrip().startswith("|") and index + 1 < len(lines)
        if not fenced and is_header and SEPARATOR.match(lines[index + 1].strip()):
            rows = []
            row = index + 2
            while row < len(lines) and lines[row].lstrip().startswith("|"):
                rows.append((row + 1, lines[row]))
                row += 1
            found.append((index + 1, line, rows))
            index = row
            continue
        index += 1
    return found


def test_the_docs_have_tables_to_check():
    assert sum(len(tables(path.read_text())) for path in DOCS) >= 5


def test_a_row_with_an_extra_cell_is_found():
    text = "| a | b |\n| --- | --- |\n| `x` | y |\n| `x` || y |\n| `a \\| b` | c |\n"
    ((_, header, rows),) = tables(text)
    assert cells(header) == 2
    assert [cells(row) for _, row in rows] == [2, 3, 2]


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_row_has_the_header_s_cell_count(path):
    wrong = [
        f"{path.name}:{number}: {cells(row)} cells, the header (line {start}) has {cells(header)}"
        for start, header, rows in tables(path.read_text())
        for number, row in rows
        if cells(row) != cells(header)
    ]
    assert wrong == []
