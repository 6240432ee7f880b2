"""The connector's self-check on its record: stored from a ``self_check`` job or on agent start.

Audited (``connector.self_check``) only when what the check found changed (ok, missing
permissions and roles, roles held): a repeated identical check just moves ``self_checked_at``.
A check that names a tenant pins it on the connector (``connectors.tenancy``); one that names
another tenant than the pinned one is refused (on start: 409; as a job: stored as a failed check).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jitgate.core.errors import Conflict
from jitgate.protocol.v1 import SelfCheckData
from jitgate.server.audit.operations import record_event
from jitgate.server.connectors.models import Connector
from jitgate.server.connectors.protocol.instances import connector_actor_for
from jitgate.server.connectors.tenancy import pin_tenant
from jitgate.server.locking import locked

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.protocol.v1 import JobResult
    from jitgate.server.actor import Actor
    from jitgate.server.jobs.models import Job

_COMPARED = ("ok", "missing", "directory_roles", "app_permissions", "error")


def _essence(check: dict[str, Any] | None) -> dict[str, Any]:
    return {key: (check or {}).get(key) for key in _COMPARED}


def record_self_check(
    *, session: Session, clock: Clock, actor: Actor, connector_id: str, check: dict[str, Any]
) -> Connector:
    """Store a self-check result on the connector's record."""
    connector = locked(session, Connector, connector_id, what="connector")
    reported = check.get("tenant_id")
    pin_tenant(
        session=session,
        clock=clock,
        actor=actor,
        connector=connector,
        reported=str(reported) if reported else None,
    )
    before = connector.self_check
    now = clock.now()
    connector.self_check = {**check, "checked_at": now.isoformat()}
    connector.self_checked_at = now
    session.flush()
    if _essence(before) != _essence(check):
        record_event(
            session=session,
            clock=clock,
            actor=actor,
            action="connector.self_check",
            target_type="connector",
            target_id=connector.id,
            before=_essence(before) if before is not None else None,
            after=_essence(check),
        )
    return connector


def self_check_dict(data: SelfCheckData) -> dict[str, Any]:
    """The stored form of a self-check."""
    return data.model_dump(mode="json", exclude={"kind", "checked_at"})


def handle_self_check_result(
    *, session: Session, clock: Clock, job: Job, result: JobResult
) -> None:
    """Result handler of ``self_check`` jobs: store what the check found, or why it failed."""
    if isinstance(result.data, SelfCheckData):
        check = self_check_dict(result.data)
    else:
        error = result.error.model_dump(mode="json") if result.error else {"code": "NoData"}
        check = {"ok": False, "missing": [], "error": error}
    connector = session.get(Connector, job.connector_id)
    name = connector.name if connector is not None else job.connector_id
    actor = connector_actor_for(job.connector_id, name)
    try:
        record_self_check(
            session=session, clock=clock, actor=actor, connector_id=job.connector_id, check=check
        )
    except Conflict as err:
        refused = {"ok": False, "missing": [], "error": {"code": "Conflict", "message": err.detail}}
        record_self_check(
            session=session, clock=clock, actor=actor, connector_id=job.connector_id, check=refused
        )
