"""Entry point for ``python -m issuer``."""

from issuer.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
