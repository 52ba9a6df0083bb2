"""A real Prometheus (built by hack/build-tools.sh) scraping local targets, and its HTTP API.

The config has one static scrape job (``awspca-issuer`` by default) over the
given ``host:port`` targets, a short scrape and rule-evaluation interval, and
optional rule files; storage lives in the harness directory. ``query`` and
``query_range`` call the HTTP API and return its ``data``; ``alerts`` lists the
active alerts; ``wait_for`` polls a query until a predicate holds.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from awspca_devstack import tools
from awspca_devstack.procs import Process, free_port

JSON = dict[str, Any]


class PrometheusError(RuntimeError):
    """The HTTP API answered with an error (bad query, evaluation failure...)."""


class Prometheus:
    def __init__(
        self,
        workdir: Path,
        targets: Sequence[str],
        *,
        name: str = "prometheus",
        job: str = "awspca-issuer",
        scrape_interval: str = "1s",
        evaluation_interval: str = "1s",
        rule_files: Sequence[Path] = (),
    ) -> None:
        self.dir = workdir / name
        self.name = name
        self.job = job
        self.targets = list(targets)
        self.scrape_interval = scrape_interval
        self.evaluation_interval = evaluation_interval
        self.rule_files = list(rule_files)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: Process | None = None

    # --- lifecycle ---------------------------------------------------------------
    def _write_config(self) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        rules = []
        for i, src in enumerate(self.rule_files):
            dst = self.dir / f"rules-{i}-{src.name}"
            shutil.copyfile(src, dst)
            rules.append(str(dst))
        config = {
            "global": {
                "scrape_interval": self.scrape_interval,
                "scrape_timeout": self.scrape_interval,
                "evaluation_interval": self.evaluation_interval,
            },
            "rule_files": rules,
            "scrape_configs": [
                {
                    "job_name": self.job,
                    "metrics_path": "/metrics",
                    "static_configs": [{"targets": self.targets}],
                }
            ],
        }
        path = self.dir / "prometheus.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def start(self, timeout: float = 60.0) -> Prometheus:
        config = self._write_config()
        argv = [
            str(tools.binary("prometheus")),
            f"--config.file={config}",
            f"--storage.tsdb.path={self.dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--storage.tsdb.retention.time=1d",
            "--log.level=warn",
        ]
        self.proc = Process(self.name, argv, self.dir / "prometheus.log").start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.proc.alive():
                raise RuntimeError(f"prometheus exited:\n{self.proc.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as r:  # noqa: S310
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise TimeoutError(f"prometheus not ready:\n{self.proc.tail()}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    def __enter__(self) -> Prometheus:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- HTTP API ------------------------------------------------------------------
    def api(self, path: str, params: dict[str, str] | None = None) -> Any:
        """GET ``/api/v1/<path>``; the ``data`` of a success, else PrometheusError."""
        url = f"{self.url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=30) as r:  # noqa: S310
                doc = json.loads(r.read())
        except urllib.error.HTTPError as e:
            body = e.read().decode(errors="replace")
            raise PrometheusError(f"{path} {params}: HTTP {e.code}: {body}") from e
        if doc.get("status") != "success":
            raise PrometheusError(f"{path} {params}: {doc}")
        if doc.get("warnings"):
            raise PrometheusError(f"{path} {params}: warnings {doc['warnings']}")
        return doc["data"]

    def query(self, expr: str, at: float | None = None) -> JSON:
        """An instant query: ``{"resultType": ..., "result": [...]}``."""
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        data: JSON = self.api("query", params)
        return data

    def query_range(self, expr: str, start: float, end: float, step: float = 1.0) -> JSON:
        data: JSON = self.api(
            "query_range",
            {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": str(step)},
        )
        return data

    def vector(self, expr: str) -> list[tuple[dict[str, str], float]]:
        """An instant vector query as (labels, value) pairs (scalars as one unlabelled pair)."""
        data = self.query(expr)
        if data["resultType"] == "scalar":
            return [({}, float(data["result"][1]))]
        return [(dict(r["metric"]), float(r["value"][1])) for r in data["result"]]

    def value(self, expr: str) -> float | None:
        """The single value of ``expr`` (None when empty; error when several series)."""
        out = self.vector(expr)
        if not out:
            return None
        if len(out) > 1:
            raise PrometheusError(f"{expr}: {len(out)} series, expected one: {out}")
        return out[0][1]

    def targets_health(self) -> list[JSON]:
        data = self.api("targets")
        return list(data["activeTargets"])

    def alerts(self) -> list[JSON]:
        return list(self.api("alerts")["alerts"])

    def rules(self) -> list[JSON]:
        return list(self.api("rules")["groups"])

    def wait_for(
        self,
        expr: str,
        predicate: Callable[[list[tuple[dict[str, str], float]]], bool],
        *,
        timeout: float = 30.0,
        what: str = "",
    ) -> list[tuple[dict[str, str], float]]:
        deadline = time.monotonic() + timeout
        last: list[tuple[dict[str, str], float]] = []
        while True:
            last = self.vector(expr)
            if predicate(last):
                return last
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what or expr}; last result: {last}")
            time.sleep(0.5)

    def wait_scraped(self, timeout: float = 30.0) -> None:
        """Wait until every target was scraped successfully at least once."""
        self.wait_for(
            f'up{{job="{self.job}"}}',
            lambda v: len(v) == len(self.targets) and all(x == 1.0 for _, x in v),
            timeout=timeout,
            what="targets up",
        )
