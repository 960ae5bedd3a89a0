"""Example 3, inter-pod communication: two pods in the user's private namespace.

The vendor's `example_pod_intercommunication` through the `dphi_em` facade. A pod exposing
`ports` is reached by the others as `<username>-<pod_name>:<port>`.
Reads DPHI_EM_URL, DPHI_EM_USERNAME and DPHI_EM_PASSWORD.
"""

from __future__ import annotations

import os
import tempfile

from dphi_em import EMClient, NotFoundError, iter_files

username = os.environ.get("DPHI_EM_USERNAME", "client1")
#: A small image of the onboard registry, with `httpd` and `wget` (the vendor's walkthrough
#: uses python:3.11-alpine and `python -m http.server 80`).
IMAGE = "fpga.dphi.space:5000/busybox:1.36"

with EMClient() as em, tempfile.TemporaryDirectory(prefix="downlink-") as downlink_folder:
    print("namespace:", em.namespace_create())

    server, client = em.pod("server"), em.pod("client")
    print(
        "server:",
        server.run(
            IMAGE,
            max_duration=5,
            namespace=True,
            ports=[80],
            command="/bin/sh -c",
            args=[
                "echo 'Hello from the server pod' > /data/index.html; exec httpd -f -p 80 -h /data"
            ],
        ),
    )
    print("server is", server.wait(until="running", timeout=120).kind)

    address = f"{username}-server:80"
    print(
        f"client (fetches {address}):",
        client.run(
            IMAGE,
            max_duration=1,
            namespace=True,
            command="/bin/sh -c",
            # a few tries: the server may still be starting to listen
            args=[
                f"for i in 1 2 3 4 5; do wget {address}/ -O /data/server-data.txt && break; "
                "sleep 1; done"
            ],
        ),
    )
    state = client.wait(until="terminated", timeout=240)
    print(f"client {state.kind} ({state.reason})")

    print("client's volume:", [path for path, _ in iter_files(client.files_list())])
    try:
        local = client.downlink("server-data.txt", downlink_folder)
        print(f"the server answered: {local.read_text()[:200].strip()!r}")
    except NotFoundError:
        print("server-data.txt: not on the client's volume (no pod wrote it)")
