"""Every access-flow example in docs/flows.md is a flow the API accepts; every field is named."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from jitgate.server.flows.schemas import AccessFlowCreate
from jitgate.server.requests.schemas import DryRunRead

FLOWS_MD = Path(__file__).resolve().parents[2] / "docs" / "flows.md"
BLOCK = re.compile(r"^```json\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _blocks() -> list[dict[str, object]]:
    return [json.loads(block) for block in BLOCK.findall(FLOWS_MD.read_text(encoding="utf-8"))]


FLOWS = [b for b in _blocks() if "targets" in b]
DRY_RUNS = [b for b in _blocks() if "flows_considered" in b]


def test_the_page_has_its_examples():
    assert len(FLOWS) >= 6
    assert len(DRY_RUNS) == 1
    assert len(FLOWS) + len(DRY_RUNS) == len(_blocks()), "a JSON block that is neither"


@pytest.mark.parametrize("example", FLOWS, ids=[str(f["name"]) for f in FLOWS])
def test_each_flow_example_is_valid(example):
    flow = AccessFlowCreate.model_validate(example)
    assert flow.targets[0].integration_id == "INTEGRATION_ID"


def test_the_dry_run_example_has_the_answers_shape():
    DryRunRead.model_validate(DRY_RUNS[0])


def test_every_field_of_a_flow_is_described():
    text = FLOWS_MD.read_text(encoding="utf-8")
    models = [AccessFlowCreate]
    seen: set[type] = set()
    missing = []
    while models:
        model = models.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            if not re.search(rf"^\| (`[a-z_]+`, )*`{name}`( |,)", text, re.MULTILINE):
                missing.append(f"{model.__name__}.{name}")
            models += [
                arg
                for arg in _types(field.annotation)
                if isinstance(arg, type) and hasattr(arg, "model_fields")
            ]
    assert missing == []


def _types(annotation: object) -> list[object]:
    args = getattr(annotation, "__args__", ())
    return [annotation, *(t for arg in args for t in _types(arg))]
