"""Simulation time, which may run faster than real time."""

from __future__ import annotations

from collections.abc import Callable
import time


class SimClock:
    """A clock whose seconds are ``speed`` times shorter than real ones.

    ``advance`` jumps forward instantly, so tests and benchmarks can make hours pass
    without waiting; ``set_speed`` keeps the time continuous.
    """

    def __init__(self, speed: float = 1.0, wall: Callable[[], float] = time.monotonic) -> None:
        """Start at simulation time 0."""
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._wall = wall
        self._speed = speed
        self._wall_origin = wall()
        self._sim_origin = 0.0

    @property
    def speed(self) -> float:
        """Simulated seconds per real second."""
        return self._speed

    def now(self) -> float:
        """Current simulation time in seconds."""
        return self._sim_origin + (self._wall() - self._wall_origin) * self._speed

    def wall(self) -> float:
        """Current real (monotonic) time in seconds."""
        return self._wall()

    def set_speed(self, speed: float) -> None:
        """Change the speed from now on."""
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._sim_origin = self.now()
        self._wall_origin = self._wall()
        self._speed = speed

    def advance(self, seconds: float) -> None:
        """Jump forward by ``seconds`` of simulation time."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._sim_origin += seconds
