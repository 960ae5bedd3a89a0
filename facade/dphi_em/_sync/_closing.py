"""`Closing`: `with client:` for the clients (`EMClient`, `TelemetryClient`).

Entering checks that the client is still open (a closed client refuses reuse, as httpx's
does); leaving closes it, whatever happened inside.
"""

# Generated from _async/_closing.py by scripts/unasync.py: edit that file, not this one.

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

__all__ = ["Closing"]

_C = TypeVar("_C", bound="Closing")


class Closing:
    """Mixin: `__enter__`/`__exit__` from the client's `_check_open` and `close`."""

    if TYPE_CHECKING:

        def _check_open(self) -> None: ...

        def close(self) -> None: ...

    def __enter__(self: _C) -> _C:
        self._check_open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()  # whatever happened inside
