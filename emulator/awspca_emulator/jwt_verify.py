"""JSON Web Token verification (RS256/384/512, ES256/384) with `cryptography` directly.

Owns base64url decoding, JWK -> public key conversion, signature checks and the
registered-claim checks (iss, aud, exp, nbf). Errors raise `TokenError` with a
`kind` (invalid | expired) so STS can choose its error code.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

_RSA_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "RS256": hashes.SHA256,
    "RS384": hashes.SHA384,
    "RS512": hashes.SHA512,
}
_EC_ALGS: dict[str, tuple[type[hashes.HashAlgorithm], str, int]] = {
    "ES256": (hashes.SHA256, "P-256", 32),
    "ES384": (hashes.SHA384, "P-384", 48),
}
_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "P-256": ec.SECP256R1,
    "P-384": ec.SECP384R1,
}
LEEWAY = 30.0


class TokenError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def b64url_decode(data: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except (binascii.Error, ValueError) as exc:
        raise TokenError("invalid", "token is not valid base64url") from exc


def _b64url_int(data: Any) -> int:
    if not isinstance(data, str):
        raise TokenError("invalid", "JWK member is not a string")
    return int.from_bytes(b64url_decode(data), "big")


def jwk_to_public_key(jwk: dict[str, Any]) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
    kty = jwk.get("kty")
    if kty == "RSA":
        return rsa.RSAPublicNumbers(
            _b64url_int(jwk.get("e")), _b64url_int(jwk.get("n"))
        ).public_key()
    if kty == "EC":
        curve = _CURVES.get(str(jwk.get("crv")))
        if curve is None:
            raise TokenError("invalid", f"unsupported JWK curve {jwk.get('crv')}")
        try:
            return ec.EllipticCurvePublicNumbers(
                _b64url_int(jwk.get("x")), _b64url_int(jwk.get("y")), curve()
            ).public_key()
        except ValueError as exc:
            raise TokenError("invalid", "JWK point is not on its curve") from exc
    raise TokenError("invalid", f"unsupported JWK key type {kty}")


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """(header, claims, signing input, signature) of a compact JWS."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise TokenError("invalid", "token is not a compact JWS")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenError("invalid", "token header or payload is not JSON") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise TokenError("invalid", "token header or payload is not an object")
    return header, claims, f"{parts[0]}.{parts[1]}".encode(), b64url_decode(parts[2])


def select_key(header: dict[str, Any], jwks: dict[str, Any]) -> dict[str, Any] | None:
    keys = [k for k in jwks.get("keys", []) if isinstance(k, dict)]
    kid = header.get("kid")
    if kid is not None:
        return next((k for k in keys if k.get("kid") == kid), None)
    return keys[0] if len(keys) == 1 else None


def verify_signature(
    header: dict[str, Any], jwk: dict[str, Any], signing_input: bytes, sig: bytes
) -> None:
    alg = header.get("alg")
    key = jwk_to_public_key(jwk)
    try:
        if alg in _RSA_HASHES and isinstance(key, rsa.RSAPublicKey):
            key.verify(sig, signing_input, padding.PKCS1v15(), _RSA_HASHES[alg]())
            return
        if alg in _EC_ALGS and isinstance(key, ec.EllipticCurvePublicKey):
            digest, crv, size = _EC_ALGS[alg]
            if jwk.get("crv") != crv or len(sig) != 2 * size:
                raise TokenError("invalid", "ECDSA signature has the wrong size or curve")
            r = int.from_bytes(sig[:size], "big")
            s = int.from_bytes(sig[size:], "big")
            key.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(digest()))
            return
    except InvalidSignature as exc:
        raise TokenError("invalid", "token signature is not valid") from exc
    raise TokenError("invalid", f"unsupported or mismatched signing algorithm {alg}")


def check_claims(
    claims: dict[str, Any], *, issuer: str, audience: str, now: float | None = None
) -> None:
    now = time.time() if now is None else now
    if claims.get("iss") != issuer:
        raise TokenError("invalid", "token issuer does not match")
    aud = claims.get("aud")
    auds = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if audience not in auds:
        raise TokenError("audience", "Incorrect token audience")
    exp = claims.get("exp")
    if not isinstance(exp, int | float):
        raise TokenError("invalid", "token has no exp claim")
    if now > exp + LEEWAY:
        raise TokenError("expired", "Token expired: current date/time is after the exp claim")
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and now + LEEWAY < nbf:
        raise TokenError("invalid", "token is not valid yet (nbf)")
