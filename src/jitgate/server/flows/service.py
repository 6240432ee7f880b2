"""Reading access flows, and the flows a person may request under."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from jitgate.core.errors import NotFound
from jitgate.server.flows.evaluate import matches_requestor
from jitgate.server.flows.models import AccessFlow, FlowTrigger
from jitgate.server.flows.schemas import AccessFlowRead, AvailableFlow
from jitgate.server.identities.models import Identity

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def get_flow(*, session: Session, flow_id: str) -> AccessFlow:
    """Return a flow or raise ``NotFound``."""
    flow = session.get(AccessFlow, flow_id)
    if flow is None:
        raise NotFound(f"no access flow {flow_id!r}")
    return flow


def list_flows(*, session: Session, active: bool | None = None) -> list[AccessFlow]:
    """Return flows by name (optionally only active or inactive ones)."""
    query = select(AccessFlow).order_by(AccessFlow.name)
    if active is not None:
        query = query.where(AccessFlow.active.is_(active))
    return list(session.scalars(query))


def read_flow(flow: AccessFlow) -> AccessFlowRead:
    """The API form of a flow."""
    return AccessFlowRead.model_validate(flow)


def needs_approval(flow: AccessFlowRead) -> bool:
    """Tell whether requests under ``flow`` wait for approvers."""
    return flow.trigger is not FlowTrigger.AUTOMATIC and flow.approver_policy is not None


def manager_of(session: Session, identity: Identity) -> Identity | None:
    """Return a person's manager, if known."""
    return session.get(Identity, identity.manager_id) if identity.manager_id else None


def available_flows(*, session: Session, identity: Identity) -> list[AvailableFlow]:
    """The active flows whose requestor conditions ``identity`` meets."""
    manager = manager_of(session, identity)
    result = []
    for row in list_flows(session=session, active=True):
        flow = read_flow(row)
        if not matches_requestor(identity, flow.requestors, manager):
            continue
        result.append(
            AvailableFlow(
                **flow.model_dump(
                    include={
                        "id",
                        "name",
                        "description",
                        "trigger",
                        "request_for",
                        "targets",
                        "default_duration_min",
                        "max_duration_min",
                        "timeframe",
                        "settings",
                    }
                ),
                needs_approval=needs_approval(flow),
            )
        )
    return result
