"""The portal's OpenID Connect client for Entra ID (portal-channels §3, graph.md §1.3).

MSAL's ``ConfidentialClientApplication`` makes the authorization request (code + PKCE S256,
``state``, ``nonce``) and redeems the code; the id token is then validated here with
``identities.entra_tokens.validate_id_token`` (MSAL only decodes it). Every call to the sign-in
host goes through one ``httpx.Client`` that verifies TLS (system store plus
``oidc_ca_bundle``); tests inject a transport.

Invariants: the authority is ``{oidc_authority_host}/{oidc_tenant}`` with instance discovery off;
``max_age`` is never left to MSAL (it would compare ``auth_time`` with the wall clock): the
portal checks freshness itself on the injected clock.
"""

from __future__ import annotations

import hashlib
import json
import threading
import warnings
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import httpx
import msal
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from jitgate.core.tls import ssl_context
from jitgate.server.identities.entra_tokens import HttpxJWKClient, validate_id_token

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from jitgate.core.settings import Settings
    from jitgate.server.identities.entra_tokens import IdTokenClaims

#: MSAL warns on every flow not in form_post mode; the portal's callback is a GET on purpose
#: (a cross-site POST would arrive without the SameSite=Lax cookie, and the flow needs none).
QUERY_MODE_WARNING = "response_mode='form_post' is recommended"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class OidcError(Exception):
    """The sign-in host refused or could not be reached; the message is readable."""


def nonce_hash(nonce: str) -> str:
    """The nonce MSAL sends (and the id token carries): the SHA-256 hex of its secret nonce."""
    return hashlib.sha256(nonce.encode("ascii")).hexdigest()


def acrs_claims(auth_context: str) -> str:
    """The ``claims`` request asking for the authentication context ``auth_context``."""
    return json.dumps({"id_token": {"acrs": {"essential": True, "value": auth_context}}})


def _certificate_credential(path: Path) -> dict[str, str]:
    data = path.read_bytes()
    key = serialization.load_pem_private_key(data, password=None)
    cert = x509.load_pem_x509_certificate(data)
    return {
        "private_key": key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        "public_certificate": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "thumbprint": cert.fingerprint(hashes.SHA1()).hex(),  # noqa: S303 - x5t is SHA-1 by definition
    }


class OidcClient:
    """The portal app's client: authorization requests, code redemption, id token checks."""

    def __init__(self, settings: Settings, *, transport: httpx.BaseTransport | None = None) -> None:
        if not settings.oidc_configured():
            raise OidcError("portal sign-in is not configured")
        self.settings = settings
        self.tenant = str(settings.oidc_tenant)
        self.client_id = str(settings.oidc_client_id)
        self.host = settings.oidc_authority_host.rstrip("/")
        self.authority = f"{self.host}/{self.tenant}"
        self.redirect_uri = settings.resolved_redirect_url()
        self.http = httpx.Client(
            verify=ssl_context(settings.oidc_ca_bundle),
            transport=transport,
            timeout=TIMEOUT,
            follow_redirects=False,
            trust_env=transport is None,
        )
        self._lock = threading.RLock()
        self._app: msal.ConfidentialClientApplication | None = None
        self._metadata: dict[str, Any] | None = None
        self._keys: HttpxJWKClient | None = None

    @property
    def origin(self) -> str:
        """The sign-in host's origin (the portal's CSP lets forms go there)."""
        parts = urlsplit(self.host)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def form_origins(self) -> tuple[str, ...]:
        """Origins a portal form may end up at: the sign-in host and its sign-out endpoint.

        Sign-out is a form post that redirects to ``end_session_endpoint``, and Chromium checks
        ``form-action`` on redirects too; that endpoint may be on another origin than the
        authority (the emulator's browser listener), so it is read from the configuration
        once it has been fetched (every signed-in person's sign-in fetched it).
        """
        origins = [self.origin]
        endpoint = (self._metadata or {}).get("end_session_endpoint")
        if isinstance(endpoint, str) and endpoint:
            parts = urlsplit(endpoint)
            origins.append(f"{parts.scheme}://{parts.netloc}")
        return tuple(dict.fromkeys(origins))

    def _credential(self) -> str | dict[str, str]:
        if self.settings.oidc_certificate_file is not None:
            return _certificate_credential(self.settings.oidc_certificate_file)
        if self.settings.oidc_client_secret is None:
            raise OidcError("set oidc_client_secret or oidc_certificate_file for portal sign-in")
        return self.settings.oidc_client_secret.get_secret_value()

    def _application(self) -> msal.ConfidentialClientApplication:
        with self._lock:
            if self._app is None:
                try:
                    self._app = msal.ConfidentialClientApplication(
                        self.client_id,
                        client_credential=self._credential(),
                        authority=self.authority,
                        instance_discovery=False,
                        http_client=self.http,
                    )
                except (ValueError, httpx.HTTPError) as err:
                    raise OidcError(f"the sign-in host could not be reached: {err}") from err
            return self._app

    def metadata(self) -> dict[str, Any]:
        """The tenant's OpenID configuration (fetched once)."""
        if self._metadata is None:
            url = f"{self.authority}/v2.0/.well-known/openid-configuration"
            try:
                response = self.http.get(url)
                response.raise_for_status()
                self._metadata = dict(response.json())
            except (httpx.HTTPError, ValueError) as err:
                raise OidcError(
                    f"the sign-in host's configuration could not be read: {err}"
                ) from err
        return self._metadata

    def keys(self) -> HttpxJWKClient:
        """The tenant's signing keys (cached; refetched once for an unknown ``kid``)."""
        if self._keys is None:
            self._keys = HttpxJWKClient(str(self.metadata()["jwks_uri"]), http=self.http)
        return self._keys

    def begin(
        self,
        *,
        state: str,
        step_up: bool,
        login_hint: str | None = None,
    ) -> dict[str, Any]:
        """Start a sign-in; return MSAL's flow (``auth_uri`` is where the browser goes).

        Step-up asks for a fresh sign-in (``prompt=login``, ``max_age=0``) and, when
        ``oidc_auth_context`` is set, the ``acrs`` claim for it.
        """
        context = self.settings.oidc_auth_context
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", QUERY_MODE_WARNING)
            flow: dict[str, Any] = self._application().initiate_auth_code_flow(
                [],
                redirect_uri=self.redirect_uri,
                state=state,
                prompt="login" if step_up else None,
                login_hint=login_hint,
                max_age=0 if step_up else None,
                claims_challenge=acrs_claims(context) if step_up and context else None,
            )
        flow.pop("max_age", None)  # checked by the portal on its own clock, not by MSAL
        return flow

    def redeem(
        self, flow: dict[str, Any], response: dict[str, str], *, now: datetime
    ) -> IdTokenClaims:
        """Redeem the code of ``response`` and validate the id token (raises ``OidcError``)."""
        with self._lock, warnings.catch_warnings():
            warnings.filterwarnings("ignore", QUERY_MODE_WARNING)
            app = self._application()
            app.token_cache = msal.TokenCache()  # nothing is kept between sign-ins
            try:
                result = app.acquire_token_by_auth_code_flow(flow, response)
            except (ValueError, RuntimeError, httpx.HTTPError) as err:
                raise OidcError(f"the sign-in could not be completed: {err}") from err
        if "error" in result:
            text = str(result.get("error_description") or result["error"]).split("\r\n")[0]
            raise OidcError(f"the sign-in host refused the code: {text}")
        raw = result.get("id_token")
        if not isinstance(raw, str):
            raise OidcError("the sign-in host returned no id token")
        return validate_id_token(
            raw,
            keys=self.keys(),
            issuer_host=self.host,
            tenant_id=self.tenant,
            client_id=self.client_id,
            nonce=nonce_hash(str(flow["nonce"])),
            now=now,
        )

    def end_session_url(self, post_logout_redirect_uri: str) -> str | None:
        """Where the browser signs out of Entra after the portal's own sign-out."""
        try:
            endpoint = self.metadata().get("end_session_endpoint")
        except OidcError:
            return None
        if not endpoint:
            return None
        query = urlencode(
            {"post_logout_redirect_uri": post_logout_redirect_uri, "client_id": self.client_id}
        )
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()
