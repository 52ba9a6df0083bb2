"""A client of istiod's CA, as a sidecar's agent is: ``IstioCertificateService/CreateCertificate``.

istiod serves it over gRPC on its secure port with a certificate its CA signed
(DNS name ``istiod.<namespace>.svc``), and authenticates the caller with a
Kubernetes ServiceAccount token (audience ``istio-ca``) that it checks with a
TokenReview. The two messages of ``istio.v1.auth`` are small enough to encode
by hand in the protobuf wire format, so no generated code is needed:

    IstioCertificateRequest  { string csr = 1; int64 validity_duration = 3; }
    IstioCertificateResponse { repeated string cert_chain = 1; }
"""

from __future__ import annotations

from typing import cast

import grpc

METHOD = "/istio.v1.auth.IstioCertificateService/CreateCertificate"
_LEN, _VARINT, _I64, _I32 = 2, 0, 1, 5


class IstioCaError(RuntimeError):
    """istiod refused the request; ``code`` is the gRPC status code's name (e.g. UNAUTHENTICATED)."""

    def __init__(self, code: str, details: str) -> None:
        super().__init__(f"{code}: {details}")
        self.code = code
        self.details = details


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_varint(data: bytes, i: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        if i >= len(data) or shift > 63:
            raise ValueError("truncated or oversized varint")
        byte = data[i]
        n |= (byte & 0x7F) << shift
        i, shift = i + 1, shift + 7
        if not byte & 0x80:
            return n, i


def encode_request(csr_pem: str, validity_seconds: int) -> bytes:
    """An ``IstioCertificateRequest`` (csr = 1, validity_duration = 3)."""
    csr = csr_pem.encode()
    return b"\x0a" + _varint(len(csr)) + csr + b"\x18" + _varint(validity_seconds)


def decode_response(data: bytes) -> list[str]:
    """The ``cert_chain`` of an ``IstioCertificateResponse``; other fields are skipped."""
    chain: list[str] = []
    i = 0
    while i < len(data):
        tag, i = _read_varint(data, i)
        field, wire = tag >> 3, tag & 7
        if wire == _VARINT:
            _, i = _read_varint(data, i)
        elif wire == _LEN:
            size, i = _read_varint(data, i)
            if i + size > len(data):
                raise ValueError("truncated length-delimited field")
            if field == 1:
                chain.append(data[i : i + size].decode())
            i += size
        elif wire in (_I64, _I32):
            i += 8 if wire == _I64 else 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return chain


def create_certificate(
    address: str,
    root_pem: bytes,
    token: str,
    csr_pem: str,
    *,
    server_name: str = "istiod.istio-system.svc",
    validity_seconds: int = 3600,
    timeout: float = 30.0,
) -> list[str]:
    """Ask istiod at ``address`` to sign ``csr_pem``; returns the PEM chain, leaf first.

    The channel trusts ``root_pem`` only (the mesh's ``ca.crt``) and checks
    istiod's certificate for ``server_name``.
    """
    creds = grpc.ssl_channel_credentials(root_certificates=root_pem)
    options = [("grpc.ssl_target_name_override", server_name)]
    with grpc.secure_channel(address, creds, options=options) as channel:
        call = channel.unary_unary(
            METHOD,
            request_serializer=lambda b: b,
            response_deserializer=lambda b: b,
        )
        try:
            raw: bytes = call(
                encode_request(csr_pem, validity_seconds),
                metadata=(("authorization", f"Bearer {token}"),),
                timeout=timeout,
            )
        except grpc.RpcError as e:
            status = cast(grpc.Call, e)  # what a failed unary call raises is both
            raise IstioCaError(status.code().name, status.details() or "") from None
    return decode_response(raw)
