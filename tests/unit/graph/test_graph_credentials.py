"""Credentials: azure-identity async credentials over our httpx transport, and early refresh.

The identity platform is stood in for by an ``httpx.MockTransport`` token endpoint here; the
integration suite uses the emulator's.
"""

from __future__ import annotations

import json
import urllib.parse
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError
from azure.identity.aio import (
    CertificateCredential,
    ClientSecretCredential,
    ManagedIdentityCredential,
    WorkloadIdentityCredential,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from jitgate.core.clock import ManualClock
from jitgate.graph.config import (
    CertificateAuth,
    ClientSecretAuth,
    GraphConfig,
    ManagedIdentityAuth,
    WorkloadIdentityAuth,
)
from jitgate.graph.credentials import TokenProvider, build_credential
from jitgate.graph.errors import GraphAuthenticationError
from jitgate.graph.transport import build_http_client

pytestmark = pytest.mark.anyio
TENANT = "11111111-1111-1111-1111-111111111111"
CLIENT = "22222222-2222-2222-2222-222222222222"


class TokenEndpoint:
    def __init__(self, *, status: int = 200, lifetime: int = 3599) -> None:
        self.status = status
        self.lifetime = lifetime
        self.forms: list[dict[str, list[str]]] = []
        self.urls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        self.forms.append(urllib.parse.parse_qs(request.content.decode()))
        if self.status != 200:
            return httpx.Response(
                self.status,
                json={"error": "invalid_client", "error_description": "AADSTS7000215: Invalid"},
            )
        body = {
            "token_type": "Bearer",
            "expires_in": self.lifetime,
            "access_token": f"token-{len(self.forms)}",
        }
        return httpx.Response(200, content=json.dumps(body).encode())


def config(auth, **kw) -> GraphConfig:
    return GraphConfig(
        tenant_id=TENANT,
        auth=auth,
        authority_host="https://login.emulator.test",
        disable_instance_discovery=True,
        **kw,
    )


async def test_client_secret_goes_to_the_configured_authority():
    endpoint = TokenEndpoint()
    http = build_http_client(transport=httpx.MockTransport(endpoint))
    credential = build_credential(
        config(ClientSecretAuth(client_id=CLIENT, client_secret="s3cret")), http
    )
    assert isinstance(credential, ClientSecretCredential)
    token = await credential.get_token("https://graph.microsoft.com/.default")
    assert token.token == "token-1"
    assert endpoint.urls == [f"https://login.emulator.test/{TENANT}/oauth2/v2.0/token"]
    form = endpoint.forms[0]
    assert form["grant_type"] == ["client_credentials"]
    assert form["client_secret"] == ["s3cret"]
    assert form["scope"] == ["https://graph.microsoft.com/.default"]
    await credential.close()
    await http.aclose()


def self_signed_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jitgate-test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ) + cert.public_bytes(serialization.Encoding.PEM)


async def test_certificate_sends_a_signed_assertion(tmp_path):
    pem = tmp_path / "connector.pem"
    pem.write_bytes(self_signed_pem())
    endpoint = TokenEndpoint()
    http = build_http_client(transport=httpx.MockTransport(endpoint))
    credential = build_credential(
        config(CertificateAuth(client_id=CLIENT, certificate_path=pem)), http
    )
    assert isinstance(credential, CertificateCredential)
    await credential.get_token("https://graph.microsoft.com/.default")
    form = endpoint.forms[0]
    assert form["client_assertion_type"] == [
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    ]
    assert form["client_assertion"][0].count(".") == 2
    await http.aclose()


async def test_workload_identity_reads_the_federated_token_file(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("federated-jwt")
    endpoint = TokenEndpoint()
    http = build_http_client(transport=httpx.MockTransport(endpoint))
    credential = build_credential(
        config(WorkloadIdentityAuth(client_id=CLIENT, token_file_path=token_file)), http
    )
    assert isinstance(credential, WorkloadIdentityCredential)
    await credential.get_token("https://graph.microsoft.com/.default")
    assert endpoint.forms[0]["client_assertion"] == ["federated-jwt"]
    await http.aclose()


async def test_managed_identity_is_built():
    http = build_http_client(transport=httpx.MockTransport(TokenEndpoint()))
    credential = build_credential(config(ManagedIdentityAuth(client_id=CLIENT)), http)
    assert isinstance(credential, ManagedIdentityCredential)
    await credential.close()
    await http.aclose()


def test_authority_must_be_https():
    with pytest.raises(ValueError, match="https"):
        GraphConfig(
            tenant_id=TENANT,
            auth=ClientSecretAuth(client_id=CLIENT, client_secret="x"),
            authority_host="http://login.emulator.test",
        )


class FakeCredential:
    """An azure-identity-shaped credential whose tokens live ``lifetime`` seconds."""

    def __init__(self, clock: ManualClock, lifetime: int = 3600, *, fail: bool = False) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.calls = 0
        self.fail = fail

    async def get_token(self, *_scopes, **_kwargs):
        self.calls += 1
        if self.fail:
            raise ClientAuthenticationError("AADSTS7000215: Invalid client secret provided.")
        expires = int(self.clock.now().timestamp()) + self.lifetime
        return AccessToken(f"t{self.calls}", expires)

    async def close(self) -> None:
        return None


async def test_token_is_cached_then_refreshed_before_expiry():
    clock = ManualClock()
    cred = FakeCredential(clock)
    provider = TokenProvider(cred, scope="s", clock=clock, refresh_margin=timedelta(minutes=5))
    assert await provider.token() == "t1"
    clock.advance(timedelta(minutes=54))
    assert await provider.token() == "t1"  # still more than 5 minutes left
    clock.advance(timedelta(minutes=1, seconds=1))
    assert await provider.token() == "t2"  # inside the margin: refreshed early
    assert cred.calls == 2


async def test_refresh_failure_keeps_a_still_valid_token_then_raises():
    clock = ManualClock()
    cred = FakeCredential(clock)
    provider = TokenProvider(cred, scope="s", clock=clock)
    await provider.token()
    cred.fail = True
    clock.advance(timedelta(minutes=56))
    assert await provider.token() == "t1"
    clock.advance(timedelta(minutes=5))
    with pytest.raises(GraphAuthenticationError, match="Invalid client secret"):
        await provider.token()


async def test_wrong_secret_surfaces_as_authentication_error():
    endpoint = TokenEndpoint(status=401)
    http = build_http_client(transport=httpx.MockTransport(endpoint))
    credential = build_credential(
        config(ClientSecretAuth(client_id=CLIENT, client_secret="x")), http
    )
    provider = TokenProvider(credential, scope="https://graph.microsoft.com/.default")
    with pytest.raises(GraphAuthenticationError):
        await provider.token()
    await http.aclose()
