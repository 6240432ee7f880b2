"""Validation of Entra ID v2 id tokens (graph.md §1.3; portal-channels §3 "Entra OIDC").

MSAL only decodes the id token it receives; ``validate_id_token`` is the check every caller
(the portal's sign-in, the API later) relies on:

* the signature is RS256 with a key of the tenant's JWKS, found by ``kid``; an unknown ``kid``
  refetches the key set once (Entra rolls its keys over) before it is refused;
* ``tid`` is the configured tenant, ``iss`` is ``{host}/{tid}/v2.0`` and ``aud`` the client id;
* ``exp``, ``nbf`` and ``iat`` are checked against the injected clock, never the wall clock
  (PyJWT's own time checks are off), with a small skew;
* ``nonce`` equals the one the sign-in sent.

Every refusal is an ``InvalidIdToken`` with one readable sentence. People are keyed by
``(tid, oid)``; ``groups`` is never read for authorisation (it is truncated above 200 groups and
never shows a grant made after sign-in), only its overage marker is reported.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import httpx
import jwt
from jwt import PyJWKClient

if TYPE_CHECKING:
    from jwt import PyJWK

ALGORITHM = "RS256"
#: Seconds between two forced refetches of a key set for an unknown ``kid``.
REFETCH_COOLDOWN_S = 30.0


class InvalidIdToken(Exception):
    """An id token that must not sign anyone in; the message says why in one sentence."""


class SigningKeys(Protocol):
    """A tenant's key set: the key of a ``kid``, refetched once when unknown."""

    def get_signing_key(self, kid: str) -> PyJWK:
        """Return the key named ``kid``; raise ``jwt.PyJWKClientError`` if there is none."""
        ...


class HttpxJWKClient(PyJWKClient):
    """PyJWT's JWKS client, fetching through an ``httpx.Client`` (its TLS, its transport)."""

    def __init__(
        self, uri: str, *, http: httpx.Client, cooldown_s: float = REFETCH_COOLDOWN_S
    ) -> None:
        super().__init__(uri, cache_jwk_set=True, lifespan=3600, cooldown_duration=cooldown_s)
        self._http = http
        self.fetches = 0

    def fetch_data(self) -> Any:  # noqa: ANN401 - PyJWT's signature: the parsed JSON
        """Fetch the key set (and put it in PyJWT's cache)."""
        try:
            response = self._http.get(self.uri)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as err:
            raise jwt.PyJWKClientConnectionError(
                f"the tenant's signing keys could not be fetched: {err}"
            ) from err
        self.fetches += 1
        payload = self._as_jwk_set_payload(data)
        if self.jwk_set_cache is not None:
            self.jwk_set_cache.put(payload)
        return payload


@dataclass(frozen=True, slots=True)
class IdTokenClaims:
    """What jitgate takes from a validated id token."""

    tid: str
    oid: str
    name: str
    preferred_username: str
    amr: tuple[str, ...]
    auth_time: datetime | None
    acrs: tuple[str, ...]
    roles: tuple[str, ...] | None  # None: the token has no ``roles`` claim at all
    sid: str | None
    groups_overage: bool
    issued_at: datetime

    @property
    def has_mfa(self) -> bool:
        """Tell whether the sign-in used multi-factor authentication (``amr`` has ``mfa``)."""
        return "mfa" in self.amr


def _time(claims: dict[str, Any], name: str, *, required: bool) -> float | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise InvalidIdToken(f"the id token has no {name!r} claim")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidIdToken(f"the id token's {name!r} claim is not a time")
    return float(value)


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return ()


def _verified_claims(raw: str, keys: SigningKeys) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(raw)
    except jwt.InvalidTokenError as err:
        raise InvalidIdToken("the id token is not a well-formed JWT") from err
    if header.get("alg") != ALGORITHM:
        raise InvalidIdToken(f"the id token is not signed with {ALGORITHM}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidIdToken("the id token names no signing key (kid)")
    try:
        key = keys.get_signing_key(kid)
    except jwt.PyJWKClientConnectionError as err:
        raise InvalidIdToken(str(err)) from err
    except jwt.PyJWKClientError as err:
        raise InvalidIdToken(
            f"the id token's signing key {kid!r} is not in the tenant's key set"
        ) from err
    try:
        claims: dict[str, Any] = jwt.decode(
            raw,
            key.key,
            algorithms=[ALGORITHM],
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.InvalidSignatureError as err:
        raise InvalidIdToken("the id token's signature does not verify") from err
    except jwt.InvalidTokenError as err:
        raise InvalidIdToken("the id token could not be decoded") from err
    return claims


def _check_times(claims: dict[str, Any], now: datetime, skew_s: float) -> float:
    at = now.timestamp()
    exp = _time(claims, "exp", required=True)
    iat = _time(claims, "iat", required=True)
    nbf = _time(claims, "nbf", required=False)
    if exp is not None and at > exp + skew_s:
        raise InvalidIdToken("the id token has expired")
    if nbf is not None and at < nbf - skew_s:
        raise InvalidIdToken("the id token is not valid yet (nbf is in the future)")
    if iat is not None and at < iat - skew_s:
        raise InvalidIdToken("the id token was issued in the future (iat)")
    return iat or at


def validate_id_token(
    raw: str,
    *,
    keys: SigningKeys,
    issuer_host: str,
    tenant_id: str,
    client_id: str,
    nonce: str | None,
    now: datetime,
    skew_s: float = 60,
) -> IdTokenClaims:
    """Check an Entra v2 id token as the module docstring says; return its claims."""
    claims = _verified_claims(raw, keys)
    tid = claims.get("tid")
    if not isinstance(tid, str) or tid.lower() != tenant_id.lower():
        raise InvalidIdToken(f"the id token is from another tenant ({tid!r}, not {tenant_id!r})")
    issuer = f"{issuer_host.rstrip('/')}/{tid}/v2.0"
    if claims.get("iss") != issuer:
        raise InvalidIdToken(f"the id token's issuer is {claims.get('iss')!r}, not {issuer!r}")
    aud = claims.get("aud")
    if aud != client_id and not (isinstance(aud, list) and aud == [client_id]):
        raise InvalidIdToken(f"the id token is for another application (audience {aud!r})")
    iat = _check_times(claims, now, skew_s)
    if nonce is not None and not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
        raise InvalidIdToken("the id token's nonce does not match the sign-in request")
    oid = claims.get("oid")
    if not isinstance(oid, str) or not oid:
        raise InvalidIdToken("the id token has no object id (oid)")
    auth_time = _time(claims, "auth_time", required=False)
    names = claims.get("_claim_names")
    overage = bool(claims.get("hasgroups")) or (isinstance(names, dict) and "groups" in names)
    return IdTokenClaims(
        tid=tid.lower(),
        oid=oid,
        name=str(claims.get("name") or ""),
        preferred_username=str(claims.get("preferred_username") or ""),
        amr=_strings(claims.get("amr")),
        auth_time=datetime.fromtimestamp(auth_time, UTC) if auth_time is not None else None,
        acrs=_strings(claims.get("acrs")),
        roles=_strings(claims["roles"]) if "roles" in claims else None,
        sid=str(claims["sid"]) if claims.get("sid") else None,
        groups_overage=overage,
        issued_at=datetime.fromtimestamp(iat, UTC),
    )
