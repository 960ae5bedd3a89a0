"""What `AsyncEMClient`'s first call would otherwise import inside the event loop.

httpcore loads anyio's asyncio backend, and httpx the IDNA codec, on the first request;
importing them there stalls the loop for tens of milliseconds (the first login). The
asyncio client imports this module, so they load when the client's module does, before
any loop runs.
"""

from __future__ import annotations

import encodings.idna  # noqa: F401
import queue  # noqa: F401
import stringprep  # noqa: F401

import anyio._backends._asyncio
import anyio.lowlevel
import anyio.streams.tls  # noqa: F401

from . import _aio_backend  # noqa: F401

__all__: list[str] = []
