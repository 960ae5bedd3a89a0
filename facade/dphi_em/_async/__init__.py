"""The I/O written once, for asyncio: `dphi_em._sync` is generated from it.

`scripts/unasync.py` turns each module here into its twin in `dphi_em._sync` by token
replacement (`async def` -> `def`, `AsyncEMClient` -> `EMClient`, ...) and the pairs of
`dphi_em._synchronization`; `make check` fails when `_sync/` differs from what it makes
(the same script makes `telemetry/_client.py` from `telemetry/_async_client.py`).

- `_client`: `AsyncEMClient`, the asyncio loops around the operation table.
- `_pod`: `AsyncPod`, a handle bound to one pod name.
- `_closing`: `AsyncClosing`, `async with` for the clients (the telemetry client's too).
- `_auth`: the driver running `TokenAuth`'s token flow (its renewal lock, body reads).
- `_transport`: `AsyncRetryTransport`, the gate and the retries.
- `_streams`: response bodies under the gate (the call's deadline, the size limit).
- `_backend`: `AsyncWideReadBackend`, wide socket reads under the call's deadline.

Nothing is imported here, so that importing one module does not import the others.
"""
