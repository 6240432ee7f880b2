"""A local certificate authority and a server certificate for loopback HTTPS.

Created once in the data dir and reused: ``ca.pem`` (what clients trust), ``server.pem`` and
``server-key.pem`` (what uvicorn serves). A server certificate that no longer covers the requested
host names is re-issued from the same CA.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from jitgate.core.clock import SystemClock

if TYPE_CHECKING:
    from pathlib import Path

DEFAULT_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the CA bundle and the server certificate and key."""

    ca_bundle: Path
    cert_file: Path
    key_file: Path


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{path} does not hold an EC key")
    return key


def _san(names: tuple[str, ...]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def _make_ca(data_dir: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jitgate emulator local CA")])
    now = SystemClock().now()  # certificate validity is wall-clock time, not emulator time
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    (data_dir / "ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(data_dir / "ca-key.pem", key)
    return cert, key


def _make_server(
    data_dir: Path, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, names: tuple[str, ...]
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = SystemClock().now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=825))
        .add_extension(_san(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    (data_dir / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(data_dir / "server-key.pem", key)


def _covers(cert_file: Path, names: tuple[str, ...]) -> bool:
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    have = {str(v) for v in san.get_values_for_type(x509.DNSName)}
    have |= {str(v) for v in san.get_values_for_type(x509.IPAddress)}
    expiring = cert.not_valid_after_utc < SystemClock().now() + timedelta(days=1)
    return not expiring and all(str(_normal(n)) in have for n in names)


def _normal(name: str) -> object:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return name


def ensure_tls(data_dir: Path, extra_names: tuple[str, ...] = ()) -> TlsFiles:
    """Create or reuse the CA and the server certificate in ``data_dir``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    names = tuple(dict.fromkeys(DEFAULT_NAMES + extra_names))
    ca_file, ca_key_file = data_dir / "ca.pem", data_dir / "ca-key.pem"
    if ca_file.exists() and ca_key_file.exists():
        ca = x509.load_pem_x509_certificate(ca_file.read_bytes())
        ca_key = _load_key(ca_key_file)
    else:
        ca, ca_key = _make_ca(data_dir)
    cert_file, key_file = data_dir / "server.pem", data_dir / "server-key.pem"
    if not (cert_file.exists() and key_file.exists() and _covers(cert_file, names)):
        _make_server(data_dir, ca, ca_key, names)
    return TlsFiles(ca_file, cert_file, key_file)
