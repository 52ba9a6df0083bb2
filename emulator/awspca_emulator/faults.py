"""Fault injection per operation: error rates, 5xx rates, added latency, fail-next-N.

`FaultInjector.decide(operation)` returns the latency to add and the error (if
any) to answer instead of running the operation.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .config import EmulatorConfig, FaultConfig
from .errors import ApiError


@dataclass(frozen=True)
class FaultDecision:
    latency: float = 0.0
    error: ApiError | None = None


class FaultInjector:
    def __init__(self, config: EmulatorConfig, rng: random.Random | None = None) -> None:
        self.config = config
        self.rng = rng or random.Random()

    def set(self, operation: str, fault: FaultConfig) -> None:
        self.config.faults[operation] = fault

    def clear(self) -> None:
        self.config.faults.clear()

    def decide(self, operation: str) -> FaultDecision:
        f = self.config.faults.get(operation) or self.config.faults.get("*")
        if f is None:
            return FaultDecision()
        error: ApiError | None = None
        if f.fail_next > 0:
            f.fail_next -= 1
            error = ApiError(f.fail_next_code, f"Injected failure ({f.fail_next_code}).")
        elif f.server_error_rate > 0 and self.rng.random() < f.server_error_rate:
            error = ApiError(f.server_error_code, "Injected server error.")
        elif f.error_rate > 0 and self.rng.random() < f.error_rate:
            error = ApiError(f.error_code, f"Injected error ({f.error_code}).")
        return FaultDecision(latency=f.latency, error=error)
