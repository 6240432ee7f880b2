from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jitgate.graph.errors import (
    GraphBadRequest,
    GraphConflict,
    GraphFailedDependency,
    GraphForbidden,
    GraphGone,
    GraphLastOwner,
    GraphNotFound,
    GraphThrottled,
    GraphTransient,
    GraphUnauthorized,
    error_from_response,
    is_already_exists,
    parse_retry_after,
)


def envelope(code: str, message: str) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "innerError": {"request-id": "inner"}}}


@pytest.mark.parametrize(
    ("status", "code", "message", "cls"),
    [
        (429, "TooManyRequests", "Please retry again later.", GraphThrottled),
        (503, "serviceNotAvailable", "", GraphTransient),
        (504, "", "", GraphTransient),
        (500, "", "", GraphTransient),
        (400, "Request_BadRequest", "Invalid object identifier 'x'.", GraphBadRequest),
        (401, "InvalidAuthenticationToken", "Access token is empty.", GraphUnauthorized),
        (403, "Authorization_RequestDenied", "Insufficient privileges", GraphForbidden),
        (404, "Request_ResourceNotFound", "Resource 'x' does not exist", GraphNotFound),
        (410, "resyncRequired", "", GraphGone),
        (424, "", "", GraphFailedDependency),
        (
            400,
            "Request_BadRequest",
            (
                "One or more added object references already exist for the following modified"
                " properties: 'members'."
            ),
            GraphConflict,
        ),
        (
            400,
            "Request_BadRequest",
            (
                "A conflicting object with one or more of the specified property values is present"
                " in the directory."
            ),
            GraphConflict,
        ),
        (400, "RoleAssignmentExists", "The Role assignment already exists.", GraphConflict),
        (400, "RoleAssignmentDoesNotExist", "The Role assignment does not exist.", GraphNotFound),
    ],
)
def test_each_answer_maps_to_one_class(status, code, message, cls):
    err = error_from_response(status, envelope(code, message), {"request-id": "rid-1"})
    assert type(err) is cls
    assert err.http_status == status
    assert err.request_id == "rid-1"
    assert err.retryable is (cls in {GraphThrottled, GraphTransient})


def test_retry_after_and_location_are_kept():
    err = error_from_response(429, envelope("TooManyRequests", "x"), {"Retry-After": "2.128"})
    assert err.retry_after == pytest.approx(2.128)
    gone = error_from_response(410, None, {"Location": "https://g/v1.0/groups/delta"})
    assert isinstance(gone, GraphGone)
    assert gone.location == "https://g/v1.0/groups/delta"


def test_token_endpoint_errors_are_understood():
    body = {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret"}
    err = error_from_response(401, body, {})
    assert isinstance(err, GraphUnauthorized)
    assert err.code == "invalid_client"


def test_already_exists_is_detected():
    dup = error_from_response(
        400, envelope("Request_BadRequest", "One or more added object references already exist"), {}
    )
    assert is_already_exists(dup)
    other = error_from_response(
        400, envelope("Request_BadRequest", "Invalid object identifier"), {}
    )
    assert not is_already_exists(other)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("3", 3.0), ("0.5", 0.5), ("", None), (None, None), ("soon", None), ("-4", 0.0)],
)
def test_retry_after_parsing(value, expected):
    assert parse_retry_after(value) == expected


def test_retry_after_http_date():
    now = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Mon, 05 Jan 2026 09:00:07 GMT", now=now) == 7.0


def test_str_carries_status_code_and_request_id():
    err = error_from_response(
        403, envelope("Authorization_RequestDenied", "no"), {"request-id": "r"}
    )
    assert "status=403" in str(err)
    assert "request-id=r" in str(err)


def test_removing_the_last_owner_is_named_and_permanent():
    text = "The group must have at least one owner, hence this owner cannot be removed."
    err = error_from_response(400, envelope("Request_BadRequest", text), {})
    assert isinstance(err, GraphLastOwner)
    assert isinstance(err, GraphBadRequest)
    assert not err.retryable
    assert err.code == "Request_BadRequest"  # Graph's own code is kept
    assert err.reported_code == "GroupLastOwner"  # what a job result carries
    other = error_from_response(400, {"error": {"code": "Request_BadRequest", "message": "x"}}, {})
    assert other.reported_code == "Request_BadRequest"
