"""`OnExit`: the `with` protocol for an object that acts on how its block ended.

`DownloadTarget` (removes or keeps its partial file) and the transport-error map of
`_errors` (re-raises httpx's exceptions as ours) differ only in `_on_exit`.
"""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

__all__ = ["OnExit"]

_E = TypeVar("_E", bound="OnExit")


class OnExit:
    """Mixin: `with obj as o:` gives `obj`; leaving calls `obj._on_exit(exception or None)`.

    The exception, if any, goes on (a subclass raises another one from `_on_exit` to
    replace it).
    """

    __slots__ = ()

    def __enter__(self: _E) -> _E:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._on_exit(exc)

    def _on_exit(self, exc: BaseException | None) -> None:
        raise NotImplementedError
