"""No code but ``grants/states.py`` writes a grant's status: every move goes through the table.

The source is read with ``ast``. A write counts as a grant status write when it assigns
``<x>.status`` and either names a grant (the object's text holds "grant", or is ``g``, the
short name the code uses for one) or assigns a ``GrantStatus``; ``setattr(x, "status", ...)``
and a bulk ``update(Grant)`` count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import jitgate

SRC = Path(jitgate.__file__).parent
STATES = SRC / "server" / "grants" / "states.py"


def _targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        found = list(node.targets)
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        found = [node.target]
    else:
        return []
    flat: list[ast.expr] = []
    while found:
        target = found.pop()
        if isinstance(target, (ast.Tuple, ast.List)):
            found.extend(target.elts)
        elif isinstance(target, ast.Starred):
            found.append(target.value)
        else:
            flat.append(target)
    return flat


def _names_grant_status(node: ast.AST | None) -> bool:
    return node is not None and any(
        isinstance(n, ast.Name) and n.id == "GrantStatus" for n in ast.walk(node)
    )


def _is_grant(expr: ast.expr) -> bool:
    text = ast.unparse(expr)
    return "grant" in text.lower() or text == "g"


def _writes_grant_status(node: ast.AST) -> bool:
    value = getattr(node, "value", None)
    return any(
        isinstance(target, ast.Attribute)
        and target.attr == "status"
        and (_is_grant(target.value) or _names_grant_status(value))
        for target in _targets(node)
    )


def _calls_around_the_table(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        return False
    args = node.args
    if node.func.id == "setattr":
        return len(args) > 1 and isinstance(args[1], ast.Constant) and args[1].value == "status"
    return node.func.id == "update" and bool(args) and ast.unparse(args[0]) == "Grant"


def direct_status_writes(source: str) -> list[int]:
    """The line numbers of grant status writes in ``source``."""
    return sorted(
        {
            node.lineno
            for node in ast.walk(ast.parse(source))
            if _writes_grant_status(node) or _calls_around_the_table(node)
        }
    )


@pytest.mark.parametrize(
    "line",
    [
        "grant.status = GrantStatus.ENDED",
        "g.status = to",
        "self.grants[0].status = target",
        "grant.status, grant.updated_at = GrantStatus.ACTIVE, now",
        "row.status = GrantStatus.FAILED",
        "grant.status: GrantStatus = GrantStatus.ENDED",
        'setattr(grant, "status", target)',
        "session.execute(update(Grant).values(status='ended'))",
    ],
)
def test_the_check_finds_a_grant_status_write(line):
    assert direct_status_writes(line) == [1]


@pytest.mark.parametrize(
    "line",
    [
        "job.status = JobStatus.QUEUED",
        "integration.status = status",
        "request.status = target",
        "grant.updated_at = now",
        "status = grant.status",
        "move_grant(grant, GrantStatus.ENDED, now=now)",
    ],
)
def test_the_check_leaves_other_writes_alone(line):
    assert direct_status_writes(line) == []


def test_no_code_outside_the_states_module_writes_a_grant_status():
    found = {
        str(path.relative_to(SRC)): lines
        for path in sorted(SRC.rglob("*.py"))
        if path != STATES and (lines := direct_status_writes(path.read_text(encoding="utf-8")))
    }
    assert found == {}, "move grants with jitgate.server.grants.states.move_grant"
