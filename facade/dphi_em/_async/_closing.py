"""`AsyncClosing`: `async with client:` for the clients (`AsyncEMClient`, `AsyncTelemetryClient`).

Entering checks that the client is still open (a closed client refuses reuse, as httpx's
does); leaving closes it, whatever happened inside.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

__all__ = ["AsyncClosing"]

_C = TypeVar("_C", bound="AsyncClosing")


class AsyncClosing:
    """Mixin: `__aenter__`/`__aexit__` from the client's `_check_open` and `aclose`."""

    if TYPE_CHECKING:

        def _check_open(self) -> None: ...

        async def aclose(self) -> None: ...

    async def __aenter__(self: _C) -> _C:
        self._check_open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()  # whatever happened inside
