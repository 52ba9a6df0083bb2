"""The hand-written protobuf messages of istiod's CA client (the e2e test talks to a real istiod)."""

from __future__ import annotations

import pytest
from awspca_devstack.istioca import decode_response, encode_request


def test_request_carries_the_csr_and_the_validity() -> None:
    csr = "-----BEGIN CERTIFICATE REQUEST-----\n" + "A" * 300 + "\n"
    raw = encode_request(csr, 86400)
    # field 1 (csr), length-delimited, length 337 as a two-byte varint
    assert raw[:3] == b"\x0a\xd1\x02"
    assert raw[3 : 3 + len(csr)] == csr.encode()
    # field 3 (validity_duration), varint 86400
    assert raw[3 + len(csr) :] == b"\x18\x80\xa3\x05"


def test_response_yields_every_chain_entry_and_skips_unknown_fields() -> None:
    leaf, inter = "-----LEAF-----\n", "-----INTER-----\n" * 20
    raw = (
        b"\x0a" + bytes([len(leaf)]) + leaf.encode()
        + b"\x10\x96\x01"  # an unknown varint field 2
        + b"\x0a" + bytes([0x80 | (len(inter) & 0x7F), len(inter) >> 7]) + inter.encode()
        + b"\x21" + b"\x00" * 8  # an unknown fixed64 field 4
    )  # fmt: skip
    assert decode_response(raw) == [leaf, inter]
    assert decode_response(b"") == []


@pytest.mark.parametrize("raw", [b"\x0a\x05abc", b"\x0a", b"\x0b\x00", b"\x0a\xff"])
def test_malformed_responses_are_refused(raw: bytes) -> None:
    with pytest.raises(ValueError, match=r"truncated|unsupported|varint"):
        decode_response(raw)
