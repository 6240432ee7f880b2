"""The portal's pages: home (``/``), the request form (``/request``) and a request's page.

Views are thin: they read the signed-in person (``PortalUserDep``), call one read or one
operation, and render a context. Every page works without JavaScript; htmx only refreshes the
form's access list when the flow changes (``/request/access``, the partial
``request/_access_field.html``). A refusal is a readable page, never a problem document.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from jitgate.core.errors import JitgateError, NotFound
from jitgate.server.portal.deps import PortalUserDep
from jitgate.server.portal.health import HealthDep
from jitgate.server.portal.home import read_home
from jitgate.server.portal.nav import sign_in_url
from jitgate.server.portal.request_form import (
    DURATION_HELP,
    JUSTIFICATION_MAX,
    RequestForm,
    flow_choices,
    form_values,
    judge_form,
    needs_step_up,
    step_up_return,
    to_request,
)
from jitgate.server.portal.templating import render
from jitgate.server.requests.operations import submit_request
from jitgate.server.requests.read import read_request
from jitgate.server.requests.service import get_visible
from jitgate.server.web.deps import ClockDep, SessionDep

router = APIRouter(default_response_class=HTMLResponse)

FormField = Annotated[str, Form()]  # limits are RequestCreate's, said next to the field
MFA_CONFIRMED = "MFA confirmed — check and submit."


@router.get("/")
def home(
    request: Request, session: SessionDep, clock: ClockDep, user: PortalUserDep, health: HealthDep
) -> HTMLResponse:
    """The person's home: their access and requests; approvals, audit or health by role."""
    page = read_home(session=session, clock=clock, user=user)
    return render(request, "home.html", user=user, health=health, home=page)


def _form_page(
    request: Request,
    user: PortalUserDep,
    form: RequestForm,
    health: HealthDep,
    *,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "request.html",
        user=user,
        health=health,
        form=form,
        notice=notice,
        justification_max=JUSTIFICATION_MAX,
        duration_help=DURATION_HELP,
        status_code=status_code,
    )


@router.get("/request")
def request_form(
    request: Request, session: SessionDep, clock: ClockDep, user: PortalUserDep, health: HealthDep
) -> HTMLResponse:
    """The request form, filled from the query (the way back from the MFA step-up)."""
    form = RequestForm(
        flows=flow_choices(session=session, user=user),
        values=form_values(request.query_params),
    )
    chosen = form.chosen
    notice = None
    if form.values["flow_id"] and chosen is not None and chosen.flow.settings.mfa_required:
        fresh = not needs_step_up(chosen.flow, user, clock.now())
        notice = MFA_CONFIRMED if fresh else None
    return _form_page(request, user, form, health, notice=notice)


@router.get("/request/access")
def access_field(
    request: Request, session: SessionDep, user: PortalUserDep, flow_id: str = ""
) -> HTMLResponse:
    """The form's access field for one flow (htmx swaps it in when the flow changes)."""
    form = RequestForm(
        flows=flow_choices(session=session, user=user),
        values=form_values({"flow_id": flow_id}),
    )
    return render(request, "request/_access_field.html", user=user, form=form)


@router.post("/request", response_model=None)
def submit(  # noqa: PLR0917 - one parameter per form field
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    user: PortalUserDep,
    health: HealthDep,
    flow_id: FormField = "",
    access: FormField = "",
    duration_min: FormField = "",
    justification: FormField = "",
    action: FormField = "submit",
) -> Response:
    """File the request; errors next to their fields; MFA step-up first where the flow says."""
    values = form_values(
        {
            "flow_id": flow_id,
            "access": access,
            "duration_min": duration_min,
            "justification": justification,
        }
    )
    form = RequestForm(flows=flow_choices(session=session, user=user), values=values)
    if action == "choose":  # no JavaScript: the flow changed, show what it offers
        return _form_page(request, user, form, health)
    data = to_request(form)
    now = clock.now()
    if data is not None:
        judge_form(session=session, user=user, form=form, data=data, now=now)
    if data is None or form.errors or form.general:
        return _form_page(request, user, form, health, status_code=422)
    chosen = form.chosen
    if chosen is not None and needs_step_up(chosen.flow, user, now):
        target = sign_in_url(step_up_return(values), step_up="1")
        return RedirectResponse(target, status_code=303)
    try:
        filed = submit_request(session=session, clock=clock, actor=user.actor(), data=data)
    except JitgateError as err:
        session.rollback()
        form.add_error(err)
        return _form_page(request, user, form, health, status_code=err.status)
    return RedirectResponse(f"/requests/{filed.id}?submitted=1", status_code=303)


@router.get("/requests/{request_id}")
def request_page(  # noqa: PLR0917 - the page's dependencies
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    user: PortalUserDep,
    health: HealthDep,
    request_id: str,
    submitted: str = "",
) -> HTMLResponse:
    """One access request as its requester, approvers, auditors and admins see it."""
    now = clock.now()
    try:
        ctx = get_visible(session=session, actor=user.actor(), request_id=request_id, now=now)
    except NotFound:
        return render(
            request,
            "error.html",
            user=user,
            health=health,
            title="Request not found",
            message="There is no such access request, or it is not yours to see.",
            status_code=404,
        )
    read = read_request(session=session, ctx=ctx, now=now)
    return render(
        request,
        "request_detail.html",
        user=user,
        health=health,
        item=read,
        now=now,
        submitted=bool(submitted),
    )
