"""The request form: the flows a person may use, what each offers, and field-level errors.

The form asks for an access flow (one of ``available_flows``), an access (a resource the flow's
targets cover, with one of the target's permissions: ``<resource id> <permission>``), a
duration in minutes and a justification. Labels, help texts and limits come from
``RequestCreate``, the schema the API validates. A problem's ``errors[].field`` (RFC 9457, as
the API answers it) is shown next to the form field it names (``FIELD_OF``); a problem without
a field is shown above the form.

Invariants:

* the form is judged by ``judge_request`` (what ``POST /api/v1/requests/dry-run`` answers)
  before anything is filed, with the person's MFA taken as fresh: MFA is the step-up's
  business (``needs_step_up``), every other problem is shown at once;
* filing is ``submit_request`` with the person's ``actor()``; it judges again and refuses what
  changed in between (its refusal is shown like the dry run's);
* the step-up's return address carries the form's fields and never the CSRF token.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from pydantic import ValidationError

from jitgate.core.errors import JitgateError
from jitgate.server.catalog.registry import get_integration_type
from jitgate.server.flows.evaluate import resource_in_target
from jitgate.server.flows.models import FlowTrigger
from jitgate.server.flows.service import available_flows
from jitgate.server.integrations.models import Integration
from jitgate.server.integrations.service import search_resources
from jitgate.server.portal.formatting import minutes
from jitgate.server.requests.judging import MFA_VALIDITY, judge_request
from jitgate.server.requests.schemas import RequestCreate
from jitgate.server.requests.service import actor_identity

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from sqlalchemy.orm import Session

    from jitgate.server.flows.schemas import AvailableFlow
    from jitgate.server.portal.user import PortalUser

#: The form's fields, in order; these (and only these) travel through the step-up.
FIELDS = ("flow_id", "access", "duration_min", "justification")
#: Which form field shows an error about a ``RequestCreate`` field.
FIELD_OF = {
    "flow_id": "flow_id",
    "resource_ids": "access",
    "permissions": "access",
    "scopes": "access",
    "duration_min": "duration_min",
    "justification": "justification",
}
#: How many resources one flow offers in the form at most.
MAX_OPTIONS = 200
_schema = RequestCreate.model_fields
JUSTIFICATION_MAX = next(m.max_length for m in _schema["justification"].metadata if m.max_length)
DURATION_HELP = (_schema["duration_min"].description or "").replace("Omitted:", "Left empty:")


@dataclass(frozen=True, slots=True)
class AccessOption:
    """One resource x permission a flow offers."""

    value: str
    label: str


@dataclass(frozen=True, slots=True)
class FlowChoice:
    """A flow the person may request under, with what it offers."""

    flow: AvailableFlow
    options: list[AccessOption]

    @property
    def hint(self) -> str:
        """A short description of the flow's rules, shown under the flow field."""
        parts = ["needs approval" if self.flow.needs_approval else "granted without approval"]
        if self.flow.default_duration_min is not None:
            parts.append(f"{minutes(self.flow.default_duration_min)} by default")
        if self.flow.max_duration_min is not None:
            parts.append(f"at most {minutes(self.flow.max_duration_min)}")
        if self.flow.settings.justification_required:
            parts.append("a justification is required")
        if self.flow.settings.mfa_required:
            parts.append("MFA within the last hour is required")
        return "; ".join(parts)


@dataclass
class RequestForm:
    """The form as shown: choices, the values entered, errors by field and above the form."""

    flows: list[FlowChoice]
    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    @property
    def chosen(self) -> FlowChoice | None:
        """The flow chosen (or the first, when none is chosen yet)."""
        wanted = self.values.get("flow_id")
        return next((f for f in self.flows if f.flow.id == wanted), None) or (
            self.flows[0] if self.flows else None
        )

    def add(self, name: str | None, message: str) -> None:
        """Record a problem with field ``name`` (a ``RequestCreate`` field), or the form's."""
        target = FIELD_OF.get(name or "")
        if target is None:
            self.general.append(message)
        else:
            self.errors.setdefault(target, []).append(message)

    def add_error(self, err: JitgateError) -> None:
        """Record a problem document's field errors, or its detail when it names no field."""
        named = [e for e in err.errors if e.get("field")]
        if not named:
            self.general.append(err.detail)
        for entry in named:
            name = str(entry["field"])
            # a flow's reasons name it ("flow 'Finance'"): they belong to the flow field
            self.add("flow_id" if name.startswith("flow ") else name, str(entry["message"]))


def _options(session: Session, flow: AvailableFlow) -> list[AccessOption]:
    options: dict[str, AccessOption] = {}
    for target in flow.targets:
        integration = session.get(Integration, target.integration_id)
        if integration is None or integration.deleted_at is not None:
            continue
        spec = get_integration_type(integration.type).resource_type(target.resource_type)
        labels = {p.id: p.label for p in spec.permissions} if spec else {}
        kind = spec.label if spec else target.resource_type
        resources, _ = search_resources(
            session=session,
            integration_id=integration.id,
            type_=target.resource_type,
            limit=MAX_OPTIONS,
        )
        for resource in resources:
            if not resource_in_target(target, resource):
                continue
            for permission in target.permissions:
                value = f"{resource.id} {permission}"
                label = f"{resource.name}: {labels.get(permission, permission)} ({kind})"
                options.setdefault(value, AccessOption(value, label))
    return sorted(options.values(), key=lambda o: o.label.lower())[:MAX_OPTIONS]


def flow_choices(*, session: Session, user: PortalUser) -> list[FlowChoice]:
    """The flows ``user`` may request under (self-serve ones), each with what it offers."""
    identity = actor_identity(session=session, actor=user.actor())
    return [
        FlowChoice(flow=f, options=_options(session, f))
        for f in available_flows(session=session, identity=identity)
        if f.trigger is FlowTrigger.SELF_SERVE
    ]


def form_values(data: Mapping[str, str]) -> dict[str, str]:
    """The form's fields from a query or a posted form (anything else is dropped)."""
    return {name: str(data.get(name, "")).strip() for name in FIELDS}


def to_request(form: RequestForm) -> RequestCreate | None:
    """The ``RequestCreate`` the form asks for, or None with the form's errors recorded."""
    values = form.values
    resource_id, _, permission = values["access"].partition(" ")
    document: dict[str, object] = {
        "flow_id": values["flow_id"] or None,
        "resource_ids": [resource_id] if resource_id else [],
        "permissions": [permission] if permission else [],
        "justification": values["justification"] or None,
    }
    if values["duration_min"]:
        document["duration_min"] = values["duration_min"]
    if not values["access"]:
        form.add("resource_ids", "choose the access you need")
    try:
        data = RequestCreate.model_validate(document)
    except ValidationError as err:
        for problem in err.errors():
            name = str(problem["loc"][0]) if problem["loc"] else None
            if name in {"resource_ids", "permissions"} and not values["access"]:
                continue  # already said: choose the access
            form.add(name, _message(problem))
        return None
    return None if form.errors else data


def _message(problem: Mapping[str, object]) -> str:
    if str(problem.get("type", "")) in {"int_parsing", "int_from_float"}:
        return "enter a whole number of minutes"
    return str(problem.get("msg", "not valid"))


def needs_step_up(flow: AvailableFlow, user: PortalUser, now: datetime) -> bool:
    """Tell whether ``flow`` wants fresher MFA than ``user``'s sign-in proved."""
    if not flow.settings.mfa_required:
        return False
    return user.mfa_at is None or now - user.mfa_at > MFA_VALIDITY


def judge_form(
    *, session: Session, user: PortalUser, form: RequestForm, data: RequestCreate, now: datetime
) -> None:
    """Record every problem the dry run finds (MFA aside: that is the step-up's)."""
    actor = replace(user.actor(), mfa_at=now)
    try:
        judgement = judge_request(session=session, actor=actor, data=data, now=now)
    except JitgateError as err:
        form.add_error(err)
        return
    if judgement.flow is None:
        form.add_error(judgement.not_eligible())
    for problem in judgement.problems:
        form.add_error(problem)


def step_up_return(values: Mapping[str, str]) -> str:
    """The form's address with its fields, to come back to after the MFA step-up."""
    kept = {name: values[name] for name in FIELDS if values.get(name)}
    return f"/request?{urlencode(kept)}"
