"""`make bench`'s harness works: one short round of our controller gives every figure.

Not a performance test: the numbers are not judged, only that the harness
measures each row (real stack, real controller process) and renders them.
The Go issuer is not built for `make test`, so the smoke run measures ours.
"""

from __future__ import annotations

from pathlib import Path

from tests.bench import bench_controller as bench


def test_bench_harness_measures_every_row(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text(f"# x\n{bench.BENCH_MARK_START}\nold\n{bench.BENCH_MARK_END}\ntail\n")
    result = bench.main(
        [
            "--only",
            "ours",
            "--rounds",
            "1",
            "--requests",
            "4",
            "--issuers",
            "2",
            "--finished",
            "5",
            "--latency-samples",
            "2",
            "--scale-requests",
            "3",
            "--raised-requests",
            "3",
            "--open-requests",
            "3",
            "--at-once",
            "3",
            "--many-issuers",
            "2",
            "--settle",
            "0.1",
            "--timeout",
            "180",
            "--json",
            str(out),
            "--write-benchmarks",
            str(doc),
        ]
    )
    assert out.exists()
    measured = result["per_round"][0]["ours"]
    for _, keys, _, _ in bench.ROWS:
        for key in keys:
            # CPU seconds of a helper process over a 3-request batch may round to 0 ticks.
            assert measured[key] >= 0, key
            assert result["summary"][key]["ours"]["median"] == measured[key]
    positive = [k for k in measured if "rps" in k or "rss" in k or k.endswith("_s")]
    assert len(positive) > 20
    for key in positive:
        if "cpu" not in key:  # a few requests' CPU may round to 0 clock ticks
            assert measured[key] > 0, key
    assert measured["get_certificate_per_request_delay_1"] >= 1
    # The call log is read per request: one certificate, one token each, none Failed.
    assert measured["scale_failed"] == 0
    assert measured["scale_certificates_per_request"] == 1
    assert measured["scale_tokens_per_request"] == 1
    assert measured["scale_distinct_certificates_per_request"] == 1
    text = doc.read_text()
    assert "old" not in text
    assert text.endswith(f"{bench.BENCH_MARK_END}\ntail\n")
    for label, *_ in bench.ROWS:
        assert label.format(**result["sizes"]) in text
    assert "load average" in text
    assert "--issuers 2" in text
