"""Signing keys, JWKS and the JWTs the emulator mints (v1 access tokens, v2 id_tokens).

Invariant: the ``kid`` in every token header is the ``kid`` of a key in the JWKS, and Graph only
accepts access tokens this emulator signed for ``https://graph.microsoft.com``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

if TYPE_CHECKING:
    from pathlib import Path

GRAPH_AUDIENCES = frozenset({"https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000"})
RSA_KEY_BITS = 2048


def b64url(data: bytes) -> str:
    """Return unpadded base64url text."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_uint(value: int) -> str:
    """Return an integer as JWK base64url bytes."""
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def thumbprints(cert: x509.Certificate) -> tuple[str, str]:
    """Return (``x5t`` SHA-1, ``x5t#S256`` SHA-256) of a certificate, base64url."""
    der = cert.public_bytes(serialization.Encoding.DER)
    return b64url(hashlib.sha1(der).digest()), b64url(hashlib.sha256(der).digest())  # noqa: S324 - x5t is SHA-1 by definition


def self_signed(key: rsa.RSAPrivateKey, common_name: str, days: int = 3650) -> x509.Certificate:
    """Return a self-signed certificate for ``key`` (signing keys and app certificates)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = datetime(2020, 1, 1, tzinfo=UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )


@dataclass
class SigningKey:
    """The RSA key the emulator signs tokens with, and its certificate (for ``x5c``)."""

    private_key: rsa.RSAPrivateKey
    cert: x509.Certificate
    kid: str

    @classmethod
    def generate(cls) -> SigningKey:
        """Create a fresh key."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
        cert = self_signed(key, "jitgate emulator token signing")
        return cls(key, cert, thumbprints(cert)[0])

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKey:
        """Reuse the key stored at ``path`` (PEM key + certificate), or create and store one."""
        if path.exists():
            data = path.read_bytes()
            key = serialization.load_pem_private_key(data, password=None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise TypeError(f"{path} does not hold an RSA key")
            cert = x509.load_pem_x509_certificate(data)
            return cls(key, cert, thumbprints(cert)[0])
        made = cls.generate()
        pem = made.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.write_bytes(pem + made.cert.public_bytes(serialization.Encoding.PEM))
        path.chmod(0o600)
        return made

    def jwk(self, issuer: str) -> dict[str, Any]:
        """Return this key as a JWKS entry."""
        numbers = self.private_key.public_key().public_numbers()
        der = self.cert.public_bytes(serialization.Encoding.DER)
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": b64url_uint(numbers.n),
            "e": b64url_uint(numbers.e),
            "x5c": [base64.b64encode(der).decode()],
            "issuer": issuer,
        }


@dataclass
class TokenService:
    """Mints and checks tokens; remembers checked access tokens so Graph calls stay cheap."""

    key: SigningKey
    _checked: dict[str, dict[str, Any]] = field(default_factory=dict)

    def sign(self, claims: dict[str, Any]) -> str:
        """Return ``claims`` as an RS256 JWT with this key's ``kid``."""
        return jwt.encode(
            claims,
            self.key.private_key,
            "RS256",
            headers={"kid": self.key.kid, "x5t": self.key.kid, "typ": "JWT"},
        )

    def access_token(
        self,
        *,
        tenant_id: str,
        app_id: str,
        oid: str,
        now: float,
        lifetime: int,
        roles: list[str] | None = None,
        scp: str | None = None,
        user: dict[str, Any] | None = None,
    ) -> str:
        """Return a v1 Graph access token (app-only when ``user`` is None)."""
        claims: dict[str, Any] = {
            "aud": "https://graph.microsoft.com",
            "iss": f"https://sts.windows.net/{tenant_id}/",
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now) + lifetime,
            "tid": tenant_id,
            "oid": oid,
            "sub": oid,
            "appid": app_id,
            "azp": app_id,
            "idtyp": "user" if user else "app",
            "ver": "1.0",
            "uti": b64url(uuid.uuid4().bytes),
        }
        if roles:
            claims["roles"] = roles
        if scp:
            claims["scp"] = scp
        if user:
            claims["upn"] = user["userPrincipalName"]
            claims["name"] = user.get("displayName", "")
        return self.sign(claims)

    def id_token(
        self,
        *,
        issuer: str,
        tenant_id: str,
        client_id: str,
        user: dict[str, Any],
        nonce: str | None,
        now: float,
        lifetime: int,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """Return a v2 id_token for ``user`` signed for ``client_id`` (``extra`` claims win)."""
        sub = b64url(hashlib.sha256(f"{client_id}:{user['id']}".encode()).digest())
        claims: dict[str, Any] = {
            "aud": client_id,
            "iss": issuer,
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now) + lifetime,
            "oid": user["id"],
            "tid": tenant_id,
            "sub": sub,
            "preferred_username": user["userPrincipalName"],
            "name": user.get("displayName", ""),
            "ver": "2.0",
            "sid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sid:{user['id']}")),
            "uti": b64url(uuid.uuid4().bytes),
        }
        if user.get("mail"):
            claims["email"] = user["mail"]
        if nonce is not None:
            claims["nonce"] = nonce
        if extra:
            claims.update(extra)
        return self.sign(claims)

    def check_id_token(self, token: str) -> dict[str, Any]:
        """Return the claims of an id token this emulator signed, expired or not."""
        return jwt.decode(
            token,
            self.key.private_key.public_key(),
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_nbf": False, "verify_aud": False},
        )

    def check_access_token(self, token: str) -> dict[str, Any]:
        """Return the claims of an access token this emulator signed (raises ``jwt`` errors)."""
        claims = self._checked.get(token)
        if claims is None:
            claims = jwt.decode(
                token,
                self.key.private_key.public_key(),
                algorithms=["RS256"],
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_aud": False,
                    "verify_iat": False,
                },
            )
            if len(self._checked) > 10000:  # noqa: PLR2004 - a bound, not a tunable
                self._checked.clear()
            self._checked[token] = claims
        return claims


def client_info(oid: str, tenant_id: str) -> str:
    """Return MSAL's ``client_info`` (base64url of ``{"uid","utid"}``)."""
    return b64url(json.dumps({"uid": oid, "utid": tenant_id}).encode())
