"""Command line: ``python -m awspca_emulator serve|bootstrap`` (see ``--help``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from .client import AdminClient
from .config import EmulatorConfig
from .server import serve


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m awspca_emulator",
        description="Local ACM Private CA + STS emulator (boto3-compatible; point endpoint_url at it).",
    )
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser(
        "serve",
        help="run the emulator until SIGINT/SIGTERM",
        description="Run the emulator. Prints one JSON line: {url[, root_arn, subordinate_arn]}.",
    )
    s.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=None, help="port (default 0: any free port)")
    s.add_argument(
        "--state-file", default=None, help="persist CAs and certificates in this JSON file"
    )
    s.add_argument("--config", default=None, help="YAML file with EmulatorConfig fields")
    s.add_argument("--account-id", default=None, help="AWS account id (default 123456789012)")
    s.add_argument("--no-throttling", action="store_true", help="switch throttling off")
    s.add_argument(
        "--issuance-delay", type=float, default=None, help="seconds until GetCertificate succeeds"
    )
    s.add_argument(
        "--bootstrap",
        choices=["rsa", "ec", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1"],
        default=None,
        help="create an ACTIVE root CA and a subordinate CA at start and print their ARNs",
    )
    s.add_argument("--pathlen", type=int, default=0, help="subordinate CA path length (0..3)")
    b = sub.add_parser(
        "bootstrap",
        help="bootstrap root + subordinate CAs in a running emulator and print the ARNs (JSON)",
    )
    b.add_argument("--url", required=True, help="the emulator's URL, e.g. http://127.0.0.1:4566")
    b.add_argument("--key-algorithm", default="RSA_2048", help="rsa, ec or a PCA KeyAlgorithm")
    b.add_argument("--region", default="us-east-1")
    b.add_argument("--pathlen", type=int, default=0, help="subordinate CA path length (0..3)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "bootstrap":
        out = AdminClient(args.url).bootstrap(args.key_algorithm, args.region, args.pathlen)
        sys.stdout.write(json.dumps(out) + "\n")
        return 0
    config = EmulatorConfig.from_yaml(args.config) if args.config else EmulatorConfig()
    if args.host is not None:
        config.host = args.host
    if args.port is not None:
        config.port = args.port
    if args.state_file is not None:
        config.state_file = args.state_file
    if args.account_id is not None:
        config.account_id = args.account_id
    if args.no_throttling:
        config.throttling_enabled = False
    if args.issuance_delay is not None:
        config.issuance_delay = args.issuance_delay
    asyncio.run(serve(config, args.bootstrap, args.pathlen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
