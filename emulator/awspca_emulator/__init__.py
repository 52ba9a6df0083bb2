"""A local ACM PCA + STS emulator for development, tests, benchmarks and the demo.

It imports nothing of the controller, and the controller never imports it.

Python API: `EmulatorConfig`, `run_in_thread(config) -> EmulatorHandle`,
`AdminClient(url)`; CLI: ``python -m awspca_emulator serve|bootstrap``.
"""

from .app import Emulator
from .client import AdminClient, AdminError
from .config import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCOUNT_ID,
    DEFAULT_SECRET_ACCESS_KEY,
    EmulatorConfig,
    FaultConfig,
    OidcIssuerConfig,
    RoleConfig,
)
from .server import EmulatorHandle, run_in_thread, serve

__all__ = [
    "DEFAULT_ACCESS_KEY_ID",
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_SECRET_ACCESS_KEY",
    "AdminClient",
    "AdminError",
    "Emulator",
    "EmulatorConfig",
    "EmulatorHandle",
    "FaultConfig",
    "OidcIssuerConfig",
    "RoleConfig",
    "run_in_thread",
    "serve",
]
