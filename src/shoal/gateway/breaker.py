"""A circuit breaker per deployment: after repeated failures it rests, then lets one trial through."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

State = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """closed → (``threshold`` consecutive failures) → open for ``cooldown`` seconds → half_open,
    where one trial request decides: success closes it, failure opens it again."""

    def __init__(self, threshold: int, cooldown: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._threshold = threshold
        self._cooldown = cooldown
        self._clock = clock
        self.failures = 0
        self.last_error: str | None = None
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> State:
        if self._opened_at is None:
            return "closed"
        return "half_open" if self._clock() - self._opened_at >= self._cooldown else "open"

    def rests_for(self) -> float:
        """Seconds until an open breaker lets a trial through (0 when it would now)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._cooldown - (self._clock() - self._opened_at))

    def allows(self) -> bool:
        """Whether a request may go to this deployment now (taking the trial slot when half open)."""
        state = self.state
        if state == "closed":
            return True
        if state == "open" or self._trial_running:
            return False
        self._trial_running = True
        return True

    def succeeded(self) -> None:
        self.failures = 0
        self._opened_at = None
        self._trial_running = False

    def abandoned(self) -> None:
        """The request went away before the deployment answered: it proved nothing either way."""
        self._trial_running = False

    def failed(self, error: str) -> None:
        self.failures += 1
        self.last_error = error
        if self._trial_running or self.failures >= self._threshold:
            self._opened_at = self._clock()
        self._trial_running = False
