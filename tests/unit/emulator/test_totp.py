"""TOTP (RFC 6238): the appendix B test vectors, the ±1 step window and malformed codes."""

from __future__ import annotations

import base64

import pytest

from jitgate.emulator import totp

SHA1_KEY = b"12345678901234567890"
SHA256_KEY = b"12345678901234567890123456789012"
SHA512_KEY = b"1234567890123456789012345678901234567890123456789012345678901234"


@pytest.mark.parametrize(
    ("when", "sha1", "sha256", "sha512"),
    [
        (59, "94287082", "46119246", "90693936"),
        (1111111109, "07081804", "68084774", "25091201"),
        (1111111111, "14050471", "67062674", "99943326"),
        (1234567890, "89005924", "91819424", "93441116"),
        (2000000000, "69279037", "90698825", "38618901"),
        (20000000000, "65353130", "77737706", "47863826"),
    ],
)
def test_rfc6238_appendix_b_vectors(when, sha1, sha256, sha512):
    step = totp.time_step(when)
    assert totp.hotp(SHA1_KEY, step, digits=8) == sha1
    assert totp.hotp(SHA256_KEY, step, digits=8, digest="sha256") == sha256
    assert totp.hotp(SHA512_KEY, step, digits=8, digest="sha512") == sha512
    # The 6-digit code authenticator apps show is the same value modulo 10**6.
    secret = base64.b32encode(SHA1_KEY).decode()
    assert totp.totp(secret, when) == sha1[-6:]


def test_one_step_either_side_is_accepted_and_no_further():
    secret = base64.b32encode(SHA1_KEY).decode().rstrip("=")
    now = 1111111111.0
    for offset, accepted in ((-60, False), (-30, True), (0, True), (30, True), (60, False)):
        code = totp.totp(secret, now + offset)
        step = totp.matching_step(secret, code, now)
        assert (step is not None) is accepted, offset
        if accepted:
            assert step == totp.time_step(now + offset)


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34"])
def test_malformed_codes_never_match(code):
    assert totp.matching_step(totp.new_secret(), code, 59.0) is None


def test_secrets_are_base32_and_tolerate_spaces_and_lower_case():
    secret = totp.new_secret()
    assert len(totp.decode_secret(secret)) == 20
    spaced = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)).lower()
    assert totp.totp(spaced, 1000.0) == totp.totp(secret, 1000.0)
