"""The shared layers under every request (httpx's `_transports/`, httpcore's `_backends/`).

- `_bounds`: what bounds a call: its deadline, the size of an answer read into memory
  (a bounded gzip/deflate decoder), which calls are transfers.
- `_pool`: connection reuse: a connection holding bytes past its answer, and telling a new
  request from the rest of one on a kept-alive connection.
- `_http11`: HTTP/1.1 framing without I/O (request heads, answer heads, body framing,
  chunked bodies) for the small calls' lean path (`_async._lean`).
- `_network`: the real transports (`network_transport`, `async_network_transport`), their
  proxy and TLS choice; written twice by hand, as the async one runs on `_aio_backend`.

The layers that do I/O are written once in `dphi_em._async` (the retrying, gated transport
in `_transport`, the bounded response bodies in `_streams`, the wide socket reads in
`_backend`, the small calls' lean path beside httpcore's pool in `_lean`) and generated
into `dphi_em._sync` (`scripts/unasync.py`).
"""
