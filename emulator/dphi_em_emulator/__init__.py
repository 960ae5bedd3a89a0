"""Local emulator of the DPhi Space CG2 EM API.

A Starlette app served by uvicorn that implements the EM's wire contract on its own (it
imports neither `dphi_em` nor `em_api_client`). Start it with
`python -m dphi_em_emulator --data-dir DIR --user client1:secret`, or in-process with
`EmulatorServer` / `run_in_thread`. See emulator/README.md.
"""

from ._cli import main
from ._config import EmulatorConfig
from ._users import hash_password
from .app import create_app
from .server import EmulatorServer, run_in_thread

__all__ = [
    "EmulatorConfig",
    "EmulatorServer",
    "create_app",
    "hash_password",
    "main",
    "run_in_thread",
]
