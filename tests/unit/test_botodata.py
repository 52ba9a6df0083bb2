"""The pruned endpoints document: the same services as botocore's, the same requests signed."""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import botocore.awsrequest
import botocore.config
import botocore.session
import pytest

from issuer.signer import botodata

BUILTIN_ENDPOINTS = Path(botocore.__file__).parent / "data" / "endpoints.json"


def _filtered(doc: dict[str, Any], services: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(doc))
    for partition in out["partitions"]:
        partition["services"] = {k: v for k, v in partition["services"].items() if k in services}
    return out


def test_pruning_botocores_own_document_keeps_exactly_the_services_asked_for() -> None:
    text = BUILTIN_ENDPOINTS.read_text()
    full = json.loads(text)
    pruned = botodata.prune_endpoints(text, botodata.SERVICES)
    assert pruned == _filtered(full, set(botodata.SERVICES))
    assert isinstance(pruned, OrderedDict)
    assert isinstance(pruned["partitions"][0]["services"]["acm-pca"], OrderedDict)
    # Every partition is kept, each with its services cut to the few we call.
    assert [p["partition"] for p in pruned["partitions"]] == [
        p["partition"] for p in full["partitions"]
    ]
    assert "acm-pca" in pruned["partitions"][0]["services"]
    assert "ec2" not in pruned["partitions"][0]["services"]


@pytest.mark.parametrize(
    "text",
    [
        '{"partitions": [], "version": 3}',
        ' \n{ "version" : 3 , "partitions" : [ { "partition" : "p", "services" : { } } ] }\n',
        '{"partitions":[{"partition":"p","services":{"a":{"endpoints":{}},"b":[1,{"x":"}"}]}}]}',
    ],
)
def test_pruning_equals_decoding_then_filtering(text: str) -> None:
    assert botodata.prune_endpoints(text, {"a"}) == _filtered(json.loads(text), {"a"})


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        '{"partitions": [',
        '{"partitions": [{"services": {"a": }}]}',
        '{"partitions": [{"services": {a: 1}}]}',
        '{"partitions": []} trailing',
        '{"partitions": [] "version": 3}',
    ],
)
def test_malformed_documents_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"^endpoints document: "):
        botodata.prune_endpoints(text, {"a"})


class _Sent(Exception):
    """Stops a call once it is signed: nothing leaves the process."""


def _sent(session: botocore.session.Session, service: str, region: str, **cfg: Any) -> list[str]:
    """The URL and credential scope of one call, captured before it leaves the process."""
    seen: list[str] = []

    def capture(request: botocore.awsrequest.AWSPreparedRequest, **_: Any) -> Any:
        auth = request.headers["Authorization"]
        auth = auth.decode() if isinstance(auth, bytes) else auth
        scope = auth.split("Credential=")[1].split(",")[0]
        seen.extend([request.url, scope.split("/", 2)[2]])
        raise _Sent

    client: Any = session.create_client(
        service,
        region_name=region,
        aws_access_key_id="AKIAEXAMPLE000000001",
        aws_secret_access_key="secret",
        config=botocore.config.Config(retries={"total_max_attempts": 1}, **cfg),
    )
    client.meta.events.register("before-send", capture)
    call = (
        client.get_caller_identity
        if service == "sts"
        else lambda: client.describe_certificate_authority(CertificateAuthorityArn="arn:x")
    )
    with pytest.raises(_Sent):
        call()
    return [*seen, str(client.meta.region_name)]


@pytest.mark.parametrize("service", ["acm-pca", "sts"])
@pytest.mark.parametrize(
    "region",
    ["us-east-1", "eu-west-3", "cn-north-1", "us-gov-west-1", "us-iso-east-1", "aws-global"],
)
@pytest.mark.parametrize("fips", [False, True])
def test_clients_of_a_pruned_session_send_what_botocores_send(
    monkeypatch: pytest.MonkeyPatch, service: str, region: str, fips: bool
) -> None:
    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ACM_PCA", "AWS_ENDPOINT_URL_STS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    cfg = {"use_fips_endpoint": True} if fips else {}
    stock = botocore.session.get_session()
    ours = botodata.session()
    assert _sent(ours, service, region, **cfg) == _sent(stock, service, region, **cfg)


def test_a_data_path_document_wins_as_in_botocore(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    doc = json.loads(BUILTIN_ENDPOINTS.read_text())
    aws = doc["partitions"][0]
    aws["services"]["acm-pca"]["endpoints"]["us-east-1"] = {"hostname": "pca.example.test"}
    (tmp_path / "endpoints.json").write_text(json.dumps(doc))
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    loader = botodata.session().get_component("data_loader")
    data, path = loader.load_data_with_path(botodata.ENDPOINTS)
    assert path == str(tmp_path / "endpoints")
    services = data["partitions"][0]["services"]
    assert services["acm-pca"]["endpoints"]["us-east-1"] == {"hostname": "pca.example.test"}
    assert set(services) <= botodata.SERVICES
    assert loader.load_data_with_path(botodata.ENDPOINTS) is not None
    # Every other document comes from botocore's own lookup.
    assert loader.load_data("partitions") == json.loads(
        (BUILTIN_ENDPOINTS.parent / "partitions.json").read_text()
    )
