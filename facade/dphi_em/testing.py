"""Test helpers for code that uses `dphi_em`: turn real sleeping off.

`EMClient` and `AsyncEMClient` wait between retries of `423 LOCKED` (capped exponential
backoff or the server's `Retry-After`) and between polls in `wait_for_pod`. In testing mode
they do not sleep: every retry and every poll still happens and is counted against the
policy's `max_attempts` and logged, only without waiting. Timeouts keep counting real time.
This is stamina's `set_testing`, for the EM client:

```python
import dphi_em.testing

dphi_em.testing.set_testing(True)  # e.g. in conftest.py, for the whole session

with dphi_em.testing.testing():  # or for one block
    em.image_list()  # a burst of 423 answers is retried without waiting
```
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from . import _timing

__all__ = ["is_testing", "set_testing", "testing"]


def set_testing(enabled: bool = True) -> None:
    """Turn testing mode on (or off with `False`), for the whole process.

    Args:
        enabled: True: retry backoffs and `wait_for_pod` polls do not sleep.
    """
    _timing.set_testing(enabled)


def is_testing() -> bool:
    """Whether testing mode is on."""
    return _timing.is_testing()


@contextmanager
def testing(enabled: bool = True) -> Iterator[None]:  # noqa: PT028 (not a test)
    """Testing mode for the duration of a `with` block; the previous mode is restored after.

    Args:
        enabled: The mode inside the block.
    """
    previous = _timing.is_testing()
    _timing.set_testing(enabled)
    try:
        yield
    finally:
        _timing.set_testing(previous)
