"""``dphi-em``, the command line: a thin layer over `dphi_em.EMClient`.

Each command group lives in its own module (``_files``, ``_images``, ``_pods``, ``_nodes``,
``_login``, ``_emulator``); ``_errors`` maps exceptions to one line and a stable exit code;
``_notices`` prints one stderr line per retry the library logs.
httpx, the facade's client, the generated client and the emulator are imported inside the
commands only, so that ``dphi-em --help`` starts fast.
"""

from ._app import app, main

__all__ = ["app", "main"]
