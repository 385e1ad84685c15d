"""How well a device answers its polls: failures with hysteresis, as pure logic.

One missed poll is normal on a real network (a dropped TCP connection, a device
busy for a moment); a device is *failed* only after several polls in a row have
failed, or after it has not answered for a while. It counts as healthy again
only after it has answered for a while, so a flapping device is not trusted the
moment it replies once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

DEFAULT_FAILED_POLLS: Final = 2
DEFAULT_FAILED_AFTER_S: Final = 15.0
DEFAULT_RECOVER_AFTER_S: Final = 30.0


@dataclass(frozen=True, slots=True)
class FailureRule:
    """When a device counts as failed, and when it is trusted again."""

    failed_polls: int = DEFAULT_FAILED_POLLS
    failed_after_s: float = DEFAULT_FAILED_AFTER_S
    recover_after_s: float = DEFAULT_RECOVER_AFTER_S


@dataclass(slots=True)
class PollHealth:
    """The record of one device's polls since Home Assistant started."""

    successes: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    failing_since: float | None = None
    healthy_since: float | None = None
    last_success: float | None = None

    def record_success(self, now: float) -> None:
        """A poll was answered."""
        self.successes += 1
        self.last_success = now
        self.consecutive_failures = 0
        self.failing_since = None
        if self.healthy_since is None:
            self.healthy_since = now

    def record_failure(self, now: float) -> None:
        """A poll failed (timeout, dropped connection, malformed reply...)."""
        self.failures += 1
        self.consecutive_failures += 1
        if self.failing_since is None:
            self.failing_since = now
        self.healthy_since = None

    def failed(self, now: float, rule: FailureRule) -> bool:
        """Whether the device is failed: too many polls in a row, or down too long."""
        if self.consecutive_failures >= rule.failed_polls:
            return True
        return self.failing_since is not None and now - self.failing_since >= rule.failed_after_s

    def known(self, now: float, rule: FailureRule) -> bool:
        """Whether the device can be judged: it answered once, or it is failed."""
        return self.successes > 0 or self.failed(now, rule)

    def healthy_for_s(self, now: float) -> float:
        """Seconds the device has answered every poll (0 while failing)."""
        return 0.0 if self.healthy_since is None else max(0.0, now - self.healthy_since)
