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

with EMClient() as em, tempfile.TemporaryDirectory(prefix="downlink-") as downlink_folder:
    print("namespace:", em.namespace_create())

    server, client = em.pod("server"), em.pod("client")
    print(
        "server:",
        server.run(
            "python:3.11-alpine",
            max_duration=2,
            namespace=True,
            ports=[80],
            command="python -m http.server 80",
        ),
    )
    print("server is", server.wait(until="running", timeout=120).kind)

    address = f"{username}-server:80"
    print(
        f"client (fetches {address}):",
        client.run(
            "python:3.11-alpine",
            max_duration=1,
            namespace=True,
            command=f"wget {address}/ -O /data/server-data.txt",
        ),
    )
    state = client.wait(until="terminated", timeout=240)
    print(f"client {state.kind} ({state.reason})")

    print("client's volume:", [path for path, _ in iter_files(client.files_list())])
    try:
        local = client.downlink("server-data.txt", downlink_folder)
        print("the server answered:", local.read_text()[:200])
    except NotFoundError:
        print("server-data.txt: not on the volume (the local emulator does not execute pods)")
