"""The real clients (azure-identity, MSAL, httpx) against the emulator over loopback HTTPS,
configured only with its authority host, disabled instance discovery and its CA bundle.
"""

from __future__ import annotations

import ssl
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
import msal
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import CertificateCredential, ClientSecretCredential
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from jitgate.emulator.server import start_in_thread
from jitgate.emulator.state import build_state
from jitgate.emulator.store import CertKey
from jitgate.emulator.tokens import self_signed, thumbprints

GRAPH = "https://graph.microsoft.com/.default"
PORTAL_REDIRECT = "http://localhost:8000/auth/callback"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    state = build_state()
    running = start_in_thread(state, data_dir=tmp_path_factory.mktemp("emulator"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def cert_file(emulator, tmp_path_factory):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = self_signed(key, "connector")
    sha1, s256 = thumbprints(cert)
    emulator.state.tenant.certs.setdefault(emulator.state.client_id, []).append(
        CertKey("k1", cert, sha1, s256, "test", 0, 4e9)
    )
    path = tmp_path_factory.mktemp("cert") / "connector.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    return path, key, cert


def session(info):
    """A requests session trusting only the emulator's CA (ignoring REQUESTS_CA_BUNDLE)."""
    http = requests.Session()
    http.trust_env = False
    http.verify = info["ca_bundle"]
    return http


def trust(ca_bundle) -> ssl.SSLContext:
    """An SSL context trusting only the emulator's CA (httpx takes a context, not a path)."""
    return ssl.create_default_context(cafile=str(ca_bundle))


def graph_get(emulator, token, path):
    with httpx.Client(verify=trust(emulator.ca_bundle)) as http:
        return http.get(f"{emulator.graph_url}{path}", headers={"Authorization": f"Bearer {token}"})


def test_client_secret_credential(emulator):
    info = emulator.info()
    credential = ClientSecretCredential(
        info["tenant_id"],
        info["client_id"],
        info["client_secret"],
        authority=info["authority_host"],
        disable_instance_discovery=True,
        connection_verify=info["ca_bundle"],
    )
    token = credential.get_token(GRAPH)
    response = graph_get(emulator, token.token, "/groups?$top=2")
    assert response.status_code == 200
    assert response.json()["@odata.nextLink"].startswith(info["graph_url"])


def test_client_secret_credential_wrong_secret_fails(emulator):
    info = emulator.info()
    credential = ClientSecretCredential(
        info["tenant_id"],
        info["client_id"],
        "wrong",
        authority=info["authority_host"],
        disable_instance_discovery=True,
        connection_verify=info["ca_bundle"],
    )
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        credential.get_token(GRAPH)


def test_certificate_credential_rs256_x5t(emulator, cert_file):
    info = emulator.info()
    credential = CertificateCredential(
        info["tenant_id"],
        info["client_id"],
        certificate_path=str(cert_file[0]),
        authority=info["authority_host"],
        disable_instance_discovery=True,
        connection_verify=info["ca_bundle"],
    )
    assert (
        graph_get(emulator, credential.get_token(GRAPH).token, "/users?$top=1").status_code == 200
    )


def test_msal_certificate_ps256_x5t_s256(emulator, cert_file):
    info = emulator.info()
    _, key, cert = cert_file
    credential = {
        "private_key": key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        "public_certificate": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "thumbprint": cert.fingerprint(
            __import__("cryptography.hazmat.primitives.hashes", fromlist=["SHA1"]).SHA1()
        ).hex(),
    }
    app = msal.ConfidentialClientApplication(
        info["client_id"],
        client_credential=credential,
        authority=f"{info['authority_host']}/{info['tenant_id']}",
        instance_discovery=False,
        http_client=session(info),
    )
    result = app.acquire_token_for_client([GRAPH])
    assert "access_token" in result, result


def test_msal_client_credentials_secret(emulator):
    info = emulator.info()
    app = msal.ConfidentialClientApplication(
        info["client_id"],
        client_credential=info["client_secret"],
        authority=f"{info['authority_host']}/{info['tenant_id']}",
        instance_discovery=False,
        http_client=session(info),
    )
    result = app.acquire_token_for_client([GRAPH])
    assert result["token_type"] == "Bearer"
    assert (
        graph_get(
            emulator, result["access_token"], "/roleManagement/directory/roleDefinitions"
        ).status_code
        == 200
    )


# MSAL warns on every auth-code flow not in form_post mode; this test plays the browser itself and
# reads the code from the redirect's query string (the emulator's default mode) on purpose.
@pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended:UserWarning")
def test_msal_authorization_code_flow_with_pkce(emulator):
    info = emulator.info()
    portal = next(
        a["appId"]
        for a in emulator.state.tenant.applications.values()
        if a["displayName"] == "jitgate portal"
    )
    app = msal.ConfidentialClientApplication(
        portal,
        client_credential="portal-secret-value",
        authority=f"{info['authority_host']}/{info['tenant_id']}",
        instance_discovery=False,
        http_client=session(info),
    )
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=PORTAL_REDIRECT)
    with httpx.Client(verify=trust(info["ca_bundle"])) as browser:
        page = browser.get(flow["auth_uri"])
        assert page.status_code == 200
        assert "adele@contoso.onmicrosoft.com" in page.text
        form = dict(parse_qsl(urlsplit(flow["auth_uri"]).query))
        bad = browser.post(
            flow["auth_uri"],
            data={**form, "username": "adele@contoso.onmicrosoft.com", "password": "wrong"},
        )
        assert "AADSTS50126" in bad.text
        done = browser.post(
            flow["auth_uri"],
            data={**form, "username": "adele@contoso.onmicrosoft.com", "password": "Passw0rd!"},
        )
    assert done.status_code == 302
    location = done.headers["location"]
    assert location.startswith(PORTAL_REDIRECT)
    result = app.acquire_token_by_auth_code_flow(flow, dict(parse_qsl(urlsplit(location).query)))
    assert "access_token" in result, result
    claims = result["id_token_claims"]
    assert claims["preferred_username"] == "adele@contoso.onmicrosoft.com"
    assert claims["tid"] == info["tenant_id"]
    assert claims["nonce"]  # MSAL itself checked it against its secret nonce
    me = graph_get(emulator, result["access_token"], "/me")
    assert me.json()["userPrincipalName"] == "adele@contoso.onmicrosoft.com"
    refreshed = app.acquire_token_by_refresh_token(result["refresh_token"], ["User.Read"])
    assert "access_token" in refreshed, refreshed
    assert urljoin(location, "/") == "http://localhost:8000/"


def test_dropped_connection_fault(emulator):
    emulator.state.settings.update(
        {"faults": [{"route": "GET /v1.0/users", "status": 0, "count": 1}]}
    )
    info = emulator.info()
    try:
        with (
            httpx.Client(verify=trust(info["ca_bundle"])) as http,
            pytest.raises(httpx.TransportError),
        ):
            http.get(f"{info['graph_url']}/users")
    finally:
        emulator.state.settings.update({"faults": []})
