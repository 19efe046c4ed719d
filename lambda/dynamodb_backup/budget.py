"""An invocation's time budget, read defensively from the Lambda context."""

from __future__ import annotations

from collections.abc import Callable


class Budget:
    """Low once less than `reserve` (a fraction) of the starting remaining time is left.

    Without a usable context (tools, tests, `None`) there is no budget: never low.
    """

    def __init__(self, remaining_ms: Callable[[], int] | None, reserve: float = 0.25) -> None:
        self._remaining = remaining_ms
        self._start = remaining_ms() if remaining_ms is not None else None
        self._reserve = reserve

    @classmethod
    def from_context(cls, context: object, reserve: float = 0.25) -> Budget:
        getter = getattr(context, "get_remaining_time_in_millis", None)
        if not callable(getter):
            return cls(None, reserve)
        try:
            int(getter())
        except Exception:  # a tool's context without a usable clock: no budget
            return cls(None, reserve)
        return cls(lambda: int(getter()), reserve)

    def low(self) -> bool:
        if self._remaining is None or self._start is None:
            return False
        return self._remaining() < self._start * self._reserve
