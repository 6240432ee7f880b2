"""``validate_id_token``: every check refuses with its own sentence; key rollover refetches once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from jitgate.emulator.tokens import SigningKey
from jitgate.server.identities.entra_tokens import (
    HttpxJWKClient,
    InvalidIdToken,
    validate_id_token,
)

HOST = "https://login.example.test"
TID = "11111111-2222-3333-4444-555555555555"
OTHER_TID = "99999999-2222-3333-4444-555555555555"
CLIENT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class Tenant:
    """A key set served over a mock transport; ``rotate()`` replaces the key."""

    def __init__(self) -> None:
        self.key = SigningKey.generate()
        self.served = 0
        self.http = httpx.Client(transport=httpx.MockTransport(self._serve))
        self.keys = HttpxJWKClient(
            f"{HOST}/{TID}/discovery/v2.0/keys", http=self.http, cooldown_s=0
        )

    def _serve(self, request: httpx.Request) -> httpx.Response:
        del request
        self.served += 1
        return httpx.Response(200, json={"keys": [self.key.jwk(f"{HOST}/{TID}/v2.0")]})

    def rotate(self) -> None:
        self.key = SigningKey.generate()

    def token(self, key: SigningKey | None = None, **changes: Any) -> str:
        at = int(NOW.timestamp())
        claims: dict[str, Any] = {
            "aud": CLIENT,
            "iss": f"{HOST}/{TID}/v2.0",
            "iat": at,
            "nbf": at,
            "exp": at + 3600,
            "tid": TID,
            "oid": "0b1c2d3e-0000-0000-0000-000000000001",
            "name": "Adele Vance",
            "preferred_username": "adele@contoso.test",
            "nonce": "n-1",
            "sid": "s-1",
            "amr": ["pwd", "mfa"],
            "auth_time": at - 10,
            "roles": ["Jitgate.Admin"],
        }
        claims.update(changes)
        claims = {k: v for k, v in claims.items() if v is not None}
        signer = key or self.key
        return jwt.encode(claims, signer.private_key, "RS256", headers={"kid": signer.kid})


@pytest.fixture
def tenant() -> Tenant:
    return Tenant()


def check(tenant: Tenant, raw: str, *, now: datetime = NOW, nonce: str | None = "n-1"):
    return validate_id_token(
        raw,
        keys=tenant.keys,
        issuer_host=HOST,
        tenant_id=TID,
        client_id=CLIENT,
        nonce=nonce,
        now=now,
    )


def test_a_valid_token_gives_its_claims(tenant):
    claims = check(tenant, tenant.token())
    assert (claims.tid, claims.oid, claims.sid) == (
        TID,
        "0b1c2d3e-0000-0000-0000-000000000001",
        "s-1",
    )
    assert claims.amr == ("pwd", "mfa")
    assert claims.has_mfa
    assert claims.roles == ("Jitgate.Admin",)
    assert claims.auth_time == NOW - timedelta(seconds=10)
    assert not claims.groups_overage


def test_missing_claims_are_reported_as_absent(tenant):
    claims = check(tenant, tenant.token(amr=None, roles=None, auth_time=None, sid=None))
    assert claims.amr == ()
    assert claims.roles is None
    assert claims.auth_time is None
    assert claims.sid is None
    assert not claims.has_mfa


def test_groups_overage_is_flagged(tenant):
    raw = tenant.token(_claim_names={"groups": "src1"}, _claim_sources={"src1": {"endpoint": "x"}})
    assert check(tenant, raw).groups_overage


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"aud": "someone-else"}, "is for another application"),
        ({"tid": OTHER_TID, "iss": f"{HOST}/{OTHER_TID}/v2.0"}, "is from another tenant"),
        ({"iss": f"https://evil.test/{TID}/v2.0"}, "issuer is"),
        ({"nonce": "n-2"}, "nonce does not match"),
        ({"nonce": None}, "nonce does not match"),
        ({"oid": None}, "no object id"),
        ({"exp": None}, "has no 'exp' claim"),
    ],
)
def test_each_check_refuses_with_its_sentence(tenant, changes, message):
    with pytest.raises(InvalidIdToken, match=message):
        check(tenant, tenant.token(**changes))


def test_expiry_is_checked_against_the_given_clock_with_skew(tenant):
    raw = tenant.token()
    assert check(tenant, raw, now=NOW + timedelta(seconds=3600 + 60))
    with pytest.raises(InvalidIdToken, match="has expired"):
        check(tenant, raw, now=NOW + timedelta(seconds=3600 + 61))


def test_a_token_not_valid_yet_is_refused(tenant):
    at = int(NOW.timestamp())
    with pytest.raises(InvalidIdToken, match="not valid yet"):
        check(tenant, tenant.token(nbf=at + 120, iat=at))
    with pytest.raises(InvalidIdToken, match="issued in the future"):
        check(tenant, tenant.token(iat=at + 120, nbf=None))


def test_a_bad_signature_is_refused(tenant):
    forger = SigningKey.generate()
    forged = jwt.encode(
        jwt.decode(tenant.token(), options={"verify_signature": False}),
        forger.private_key,
        "RS256",
        headers={"kid": tenant.key.kid},  # claims to be the tenant's key
    )
    with pytest.raises(InvalidIdToken, match="signature does not verify"):
        check(tenant, forged)


def test_an_unknown_key_is_refused_after_one_refetch(tenant):
    stranger = SigningKey.generate()
    check(tenant, tenant.token())
    served = tenant.served
    with pytest.raises(InvalidIdToken, match="is not in the tenant's key set"):
        check(tenant, tenant.token(key=stranger))
    assert tenant.served == served + 1


def test_key_rollover_refetches_the_key_set_once(tenant):
    check(tenant, tenant.token())
    assert tenant.served == 1
    check(tenant, tenant.token())
    assert tenant.served == 1  # cached
    tenant.rotate()
    claims = check(tenant, tenant.token())
    assert claims.oid
    assert tenant.served == 2


def test_other_algorithms_and_garbage_are_refused(tenant):
    hs = jwt.encode({"tid": TID}, "secret" * 8, "HS256", headers={"kid": tenant.key.kid})
    with pytest.raises(InvalidIdToken, match="not signed with RS256"):
        check(tenant, hs)
    with pytest.raises(InvalidIdToken, match="not a well-formed JWT"):
        check(tenant, "not-a-jwt")
