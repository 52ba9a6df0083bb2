"""AssumeRoleWithWebIdentity: real JWT checks (RS256/ES256, JWKS file or HTTPS
discovery with a custom CA, client certificate and bearer token), trust subjects,
and boto3's own web-identity credential provider end to end."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest
from aiohttp import web
from awspca_emulator import AdminClient, EmulatorHandle
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from mypy_boto3_sts import STSClient

from .conftest import REGION
from .helpers import error_code

pytestmark = pytest.mark.timeout(60)

ISSUER = "https://kubernetes.emulator.test"
AUDIENCE = "sts.amazonaws.com"
SUBJECT = "system:serviceaccount:aws-pca:issuer"


class Keys:
    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(65537, 2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.other_ec = ec.generate_private_key(ec.SECP256R1())

    def jwks(self) -> dict[str, Any]:
        rsa_jwk = json.loads(RSAAlgorithm.to_jwk(self.rsa.public_key()))
        ec_jwk = json.loads(ECAlgorithm.to_jwk(self.ec.public_key()))
        return {
            "keys": [
                {**rsa_jwk, "kid": "rsa-1", "alg": "RS256"},
                {**ec_jwk, "kid": "ec-1", "alg": "ES256"},
            ]
        }

    def token(
        self,
        *,
        alg: str = "RS256",
        iss: str = ISSUER,
        aud: str | list[str] = AUDIENCE,
        sub: str = SUBJECT,
        lifetime: int = 600,
        key: Any = None,
        kid: str | None = None,
    ) -> str:
        now = int(time.time())
        claims = {"iss": iss, "aud": aud, "sub": sub, "iat": now, "nbf": now, "exp": now + lifetime}
        if key is None:
            key = self.rsa if alg == "RS256" else self.ec
        kid = kid or ("rsa-1" if alg == "RS256" else "ec-1")
        return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


@pytest.fixture(scope="module")
def wi_role(
    admin: AdminClient, keys: Keys, tmp_path_factory: pytest.TempPathFactory, ec_pki: dict[str, Any]
) -> str:
    jwks_file = tmp_path_factory.mktemp("jwks") / "jwks.json"
    jwks_file.write_text(json.dumps(keys.jwks()))
    admin.add_oidc_issuer(ISSUER, AUDIENCE, jwks_file=str(jwks_file))
    return admin.add_role(
        "web-identity-role",
        trusted_subjects=["system:serviceaccount:aws-pca:*"],
        allowed_cas=[ec_pki["subordinate_arn"]],
    )


def _assume(sts: STSClient, role_arn: str, token: str) -> dict[str, Any]:
    return dict(
        sts.assume_role_with_web_identity(
            RoleArn=role_arn, RoleSessionName="wi-session", WebIdentityToken=token
        )
    )


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_valid_token(sts: STSClient, wi_role: str, keys: Keys, alg: str) -> None:
    out = _assume(sts, wi_role, keys.token(alg=alg))
    assert out["Credentials"]["AccessKeyId"].startswith("ASIA")
    assert out["SubjectFromWebIdentityToken"] == SUBJECT
    assert (
        out["AssumedRoleUser"]["Arn"]
        == "arn:aws:sts::123456789012:assumed-role/web-identity-role/wi-session"
    )


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"aud": "someone-else"}, "InvalidIdentityToken"),
        ({"aud": ["a", "b"]}, "InvalidIdentityToken"),
        ({"sub": "system:serviceaccount:other-ns:issuer"}, "AccessDenied"),
        ({"lifetime": -300}, "ExpiredTokenException"),
        ({"iss": "https://unknown.issuer.test"}, "InvalidIdentityToken"),
        ({"alg": "ES256", "kid": "ec-1", "key": "other"}, "InvalidIdentityToken"),
        ({"kid": "no-such-kid"}, "InvalidIdentityToken"),
    ],
    ids=[
        "audience",
        "audience-list",
        "subject",
        "expired",
        "issuer",
        "bad-signature",
        "unknown-kid",
    ],
)
def test_refused_tokens(
    sts: STSClient, wi_role: str, keys: Keys, change: dict[str, Any], code: str
) -> None:
    if change.get("key") == "other":
        change = {**change, "key": keys.other_ec}
    with pytest.raises(ClientError) as exc:
        _assume(sts, wi_role, keys.token(**change))
    assert error_code(exc) == code


def test_garbage_token_and_unknown_role(sts: STSClient, wi_role: str, keys: Keys) -> None:
    with pytest.raises(ClientError) as exc:
        _assume(sts, wi_role, "not.a.jwt-at-all")
    assert error_code(exc) == "InvalidIdentityToken"
    with pytest.raises(ClientError) as exc:
        _assume(sts, "arn:aws:iam::123456789012:role/missing", keys.token())
    assert error_code(exc) == "AccessDenied"


def test_boto3_web_identity_provider(
    emulator: EmulatorHandle,
    wi_role: str,
    keys: Keys,
    ec_pki: dict[str, Any],
    admin: AdminClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(keys.token())
    (tmp_path / "config").write_text("")
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("AWS_ROLE_ARN", wi_role)
    monkeypatch.setenv("AWS_ROLE_SESSION_NAME", "irsa")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", emulator.url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    session = boto3.session.Session()
    pca = session.client("acm-pca", endpoint_url=emulator.url)
    ca = pca.describe_certificate_authority(CertificateAuthorityArn=ec_pki["subordinate_arn"])
    assert ca["CertificateAuthority"]["Status"] == "ACTIVE"
    call = admin.calls("DescribeCertificateAuthority")[-1]
    assert call["caller_arn"] == "arn:aws:sts::123456789012:assumed-role/web-identity-role/irsa"
    assert call["access_key_id"].startswith("ASIA")
    assert admin.calls("AssumeRoleWithWebIdentity")[-1]["result"] == "OK"
    with pytest.raises(ClientError) as exc:
        pca.describe_certificate_authority(CertificateAuthorityArn=ec_pki["root_arn"])
    assert error_code(exc) == "AccessDeniedException"


# -- JWKS over HTTPS (as a kube-apiserver serves it) ---------------------------


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer_key: ec.EllipticCurvePrivateKey,
    issuer_name: x509.Name | None,
    *,
    ca: bool = False,
    server: bool = False,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.now(UTC)
    b = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        b = b.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        b = b.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    elif not ca:
        b = b.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    return b.sign(issuer_key, hashes.SHA256())


def _write(
    path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey | None = None
) -> None:
    path.with_suffix(".crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        path.with_suffix(".key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )


class OidcServer:
    """An HTTPS OIDC discovery + JWKS server requiring a client certificate and a bearer token."""

    TOKEN = "bearer-for-jwks"

    def __init__(self, tmp: Path, jwks: dict[str, Any]) -> None:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _cert("test-ca", ca_key, ca_key, None, ca=True)
        srv_key, cli_key = (
            ec.generate_private_key(ec.SECP256R1()),
            ec.generate_private_key(ec.SECP256R1()),
        )
        _write(tmp / "ca", ca)
        _write(
            tmp / "server", _cert("127.0.0.1", srv_key, ca_key, ca.subject, server=True), srv_key
        )
        _write(tmp / "client", _cert("emulator", cli_key, ca_key, ca.subject), cli_key)
        self.tmp = tmp
        self.jwks = jwks
        self.requests: list[str] = []
        self.jwks_uri_host: str | None = None
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._main, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(10)

    def _main(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(self.tmp / "ca.crt"))
        ctx.load_cert_chain(self.tmp / "server.crt", self.tmp / "server.key")
        ctx.verify_mode = ssl.CERT_REQUIRED

        async def discovery(request: web.Request) -> web.Response:
            self.requests.append(request.path)
            host = self.jwks_uri_host or f"127.0.0.1:{self.port}"
            return web.json_response(
                {"issuer": self.issuer, "jwks_uri": f"https://{host}/openid/v1/jwks"}
            )

        async def jwks(request: web.Request) -> web.Response:
            self.requests.append(request.path)
            if request.headers.get("Authorization") != f"Bearer {self.TOKEN}":
                return web.json_response({"message": "Unauthorized"}, status=401)
            return web.json_response(self.jwks)

        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", discovery)
        app.router.add_get("/openid/v1/jwks", jwks)
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=ctx)
        self.loop.run_until_complete(site.start())
        self.port = self.runner.addresses[0][1]
        self.issuer = f"https://127.0.0.1:{self.port}"
        ready.set()
        self.loop.run_forever()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def oidc_server(tmp_path_factory: pytest.TempPathFactory, keys: Keys) -> Iterator[OidcServer]:
    server = OidcServer(tmp_path_factory.mktemp("oidc"), keys.jwks())
    yield server
    server.stop()


def test_jwks_fetched_over_https_with_custom_ca(
    sts: STSClient, admin: AdminClient, oidc_server: OidcServer, keys: Keys
) -> None:
    tmp = oidc_server.tmp
    admin.add_oidc_issuer(
        oidc_server.issuer,
        AUDIENCE,
        ca_file=str(tmp / "ca.crt"),
        client_cert=str(tmp / "client.crt"),
        client_key=str(tmp / "client.key"),
        bearer_token=OidcServer.TOKEN,
    )
    role = admin.add_role(
        "https-role", trusted_subjects=[SUBJECT], trusted_issuers=[oidc_server.issuer]
    )
    for alg in ("RS256", "ES256"):
        out = _assume(sts, role, keys.token(alg=alg, iss=oidc_server.issuer))
        assert out["Provider"] == oidc_server.issuer
    assert oidc_server.requests[:2] == ["/.well-known/openid-configuration", "/openid/v1/jwks"]
    assert len(oidc_server.requests) == 2  # cached
    # A token from the right issuer but for a role that does not trust that issuer.
    other = admin.add_role("file-issuer-only", trusted_subjects=[SUBJECT], trusted_issuers=[ISSUER])
    with pytest.raises(ClientError) as exc:
        _assume(sts, other, keys.token(iss=oidc_server.issuer))
    assert error_code(exc) == "AccessDenied"


def test_jwks_uri_on_an_unreachable_host_falls_back_to_the_discovery_host(
    sts: STSClient, admin: AdminClient, oidc_server: OidcServer, keys: Keys
) -> None:
    tmp = oidc_server.tmp
    oidc_server.jwks_uri_host = "127.0.0.2:1"  # like https://kubernetes.default.svc from outside
    issuer = oidc_server.issuer
    admin.add_oidc_issuer(
        issuer,
        AUDIENCE,
        ca_file=str(tmp / "ca.crt"),
        client_cert=str(tmp / "client.crt"),
        client_key=str(tmp / "client.key"),
        bearer_token=OidcServer.TOKEN,
    )
    role = admin.add_role("fallback-role", trusted_subjects=[SUBJECT])
    try:
        assert _assume(sts, role, keys.token(iss=issuer))["Provider"] == issuer
    finally:
        oidc_server.jwks_uri_host = None


def test_untrusted_ca_fails_the_fetch(
    sts: STSClient, admin: AdminClient, oidc_server: OidcServer, keys: Keys
) -> None:
    admin.add_oidc_issuer(oidc_server.issuer, AUDIENCE)  # system trust store only
    role = admin.add_role("no-ca-role", trusted_subjects=[SUBJECT])
    with pytest.raises(ClientError) as exc:
        _assume(sts, role, keys.token(iss=oidc_server.issuer))
    assert error_code(exc) == "IDPCommunicationError"
