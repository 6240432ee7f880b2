"""The operations' own admin guard and row lock (``require_admin``, ``locked``).

Every admin-only operation refuses a non-admin before it reads or writes anything, with the
same words whichever channel called it; every locked row is read afresh once locked, and a
missing or soft-deleted one is ``NotFound`` by the same words.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from factories import BOOTSTRAP, actor_for, make_connector, make_identity, make_integration
from jitgate.core.errors import Forbidden, NotFound
from jitgate.server.actor import UserRole
from jitgate.server.audit.models import AuditEvent
from jitgate.server.connectors.models import Connector
from jitgate.server.connectors.operations import (
    create_connector,
    delete_connector,
    rotate_connector_token,
)
from jitgate.server.flows.operations import delete_flow
from jitgate.server.grants.standing import set_standing_allowed
from jitgate.server.identities.operations import set_identity_role
from jitgate.server.integrations.models import Integration
from jitgate.server.integrations.operations import delete_integration, refresh_integration
from jitgate.server.integrations.service import INTEGRATION_FACTS
from jitgate.server.locking import locked
from jitgate.server.requests.integration_uses import INTEGRATION_USES

GUARDED = [
    (delete_flow, {"flow_id": "f-1"}, "only admins may change access flows"),
    (
        refresh_integration,
        {"integration_id": "i-1", "uses": INTEGRATION_USES},
        "only admins may change integrations",
    ),
    (
        delete_integration,
        {"integration_id": "i-1", "uses": INTEGRATION_USES},
        "only admins may change integrations",
    ),
    (create_connector, {"name": "x"}, "only admins may change connectors"),
    (rotate_connector_token, {"connector_id": "c-1"}, "only admins may change connectors"),
    (
        delete_connector,
        {"connector_id": "c-1", "integrations": INTEGRATION_FACTS},
        "only admins may change connectors",
    ),
    (
        set_identity_role,
        {"identity_id": "p-1", "role": UserRole.ADMIN},
        "only admins may change roles",
    ),
    (
        set_standing_allowed,
        {"standing_id": "s-1", "allowed": True},
        "only admins may change the allow-list",
    ),
]


def _audit_count(session):
    return session.scalar(select(func.count()).select_from(AuditEvent))


@pytest.mark.parametrize(("operation", "args", "detail"), GUARDED)
def test_a_non_admin_is_refused_before_anything_is_read(session, clock, operation, args, detail):
    person = actor_for(make_identity(session, clock, "user@contoso.example"))
    events = _audit_count(session)
    with pytest.raises(Forbidden) as caught:
        operation(session=session, clock=clock, actor=person, **args)
    assert caught.value.detail == detail  # the id names no row: the guard ran first
    assert _audit_count(session) == events


def test_a_missing_row_is_not_found_by_name(session, clock):
    with pytest.raises(NotFound) as caught:
        rotate_connector_token(session=session, clock=clock, actor=BOOTSTRAP, connector_id="c-9")
    assert caught.value.detail == "no connector 'c-9'"


def test_a_soft_deleted_row_is_not_found(session, clock):
    integration = make_integration(session, clock)
    delete_integration(
        uses=INTEGRATION_USES,
        session=session,
        clock=clock,
        actor=BOOTSTRAP,
        integration_id=integration.id,
    )
    session.commit()
    with pytest.raises(NotFound) as caught:
        refresh_integration(
            uses=INTEGRATION_USES,
            session=session,
            clock=clock,
            actor=BOOTSTRAP,
            integration_id=integration.id,
        )
    assert caught.value.detail == f"no integration {integration.id!r}"


def test_a_locked_row_is_read_afresh(sessions, session, clock):
    connector, _ = make_connector(session, clock)
    with sessions() as stale:
        held = stale.get(Connector, connector.id)  # a copy in its identity map
        assert held is not None
        assert held.name == "contoso"
        with sessions() as other:
            other.get(Connector, connector.id).name = "fabrikam"
            other.commit()
        row = locked(stale, Connector, connector.id, what="connector")
        assert row is held
        assert row.name == "fabrikam"
        stale.rollback()


def test_a_live_row_is_returned_locked(session, clock):
    integration = make_integration(session, clock)
    row = locked(session, Integration, integration.id, what="integration")
    assert row.id == integration.id
    assert row.deleted_at is None
