"""The EM serves one request at a time: `423 LOCKED` for an `/em/` request while another runs.

Thread-safe, since an in-process server's owner (a test) drives it from another thread.
"""

from __future__ import annotations

import threading


class RequestLock:
    """Admits one request at a time; can be switched off, or forced shut for N requests."""

    def __init__(self, enabled: bool = True) -> None:
        self._mutex = threading.Lock()
        self._enabled = enabled
        self._busy = 0
        self._forced = 0

    @property
    def enabled(self) -> bool:
        return self._enabled

    def set_enabled(self, enabled: bool) -> None:
        """Switch the one-request-at-a-time rule on or off (requests in flight finish)."""
        with self._mutex:
            self._enabled = enabled

    def force_locked(self, count: int) -> None:
        """Refuse the next `count` requests with 423, whatever else is running."""
        if count < 0:
            raise ValueError("count must not be negative")
        with self._mutex:
            self._forced = count

    @property
    def forced_remaining(self) -> int:
        return self._forced

    def acquire(self) -> bool:
        """Admit a request (True) or refuse it (False). Every admitted request must `release`."""
        with self._mutex:
            if self._forced > 0:
                self._forced -= 1
                return False
            if self._enabled and self._busy:
                return False
            self._busy += 1
            return True

    def release(self) -> None:
        with self._mutex:
            self._busy -= 1
