"""Helpers for the facade's end-to-end tests (the fixtures live in tests/conftest.py)."""

from __future__ import annotations

from typing import Any

from dphi_em import EMClient, RetryPolicy

#: Fast retries for tests: a 423 burst is waited out in milliseconds.
FAST_RETRY = RetryPolicy(max_attempts=10, initial_delay=0.01, max_delay=0.05, max_total=10)


def client_for(server: Any, **kwargs: Any) -> EMClient:
    """An EMClient for an emulator (or external EM) fixture, with its first user."""
    kwargs.setdefault("retry", FAST_RETRY)
    return EMClient(server.url, server.username, server.password, **kwargs)


def is_local(server: Any) -> bool:
    """Whether `server` is the local emulator (pods there run nothing)."""
    return hasattr(server, "emulator")
