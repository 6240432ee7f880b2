"""Stored job payloads are read exactly: a field the protocol does not know is an error.

Every payload is written from a protocol model (``enqueue_job``); dropping unknown fields once
hid discover jobs queued as raw dictionaries, so nothing is dropped any more.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from jitgate.protocol.v1 import DiscoverPayload
from jitgate.server.jobs.models import JobKind
from jitgate.server.jobs.service import parse_payload


def test_a_stored_payload_reads_as_its_protocol_model():
    stored = DiscoverPayload(mode="delta", users_delta_link="https://graph/delta?x").model_dump(
        mode="json", exclude={"kind"}
    )
    assert parse_payload(JobKind.DISCOVER, stored) == DiscoverPayload(
        mode="delta", users_delta_link="https://graph/delta?x"
    )


def test_a_field_the_protocol_does_not_know_is_refused_by_name():
    stored = {"resource_types": ["entra-group"], "integration_id": "i-1"}
    with pytest.raises(ValidationError) as refused:
        parse_payload(JobKind.DISCOVER, stored)
    assert [(e["type"], e["loc"][-1]) for e in refused.value.errors()] == [
        ("extra_forbidden", "integration_id")
    ]
