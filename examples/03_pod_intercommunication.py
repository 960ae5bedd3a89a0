"""Example 3, inter-pod communication: two pods in the user's private namespace.

The vendor's `example_pod_intercommunication` as the seed's walkthrough writes it, through
the `dphi_em` facade: a `python:3.11-alpine` pod serves its folder with
`python -m http.server 80`, and a second pod fetches it with `wget` into its own volume. A pod
exposing `ports` is reached by the others as `<username>-<pod_name>:<port>`.
Reads DPHI_EM_URL, DPHI_EM_USERNAME and DPHI_EM_PASSWORD.

The client is started once the server pod runs; the server may still be starting to listen
then, so a client that found nobody is simply run again (at most a few times).
"""

from __future__ import annotations

import os
import tempfile

from dphi_em import EMClient, NotFoundError, iter_files

username = os.environ.get("DPHI_EM_USERNAME", "client1")
#: The walkthrough's image (the local emulator stands in for it with Debian's python3).
IMAGE = "python:3.11-alpine"
TRIES = 5

with EMClient() as em, tempfile.TemporaryDirectory(prefix="downlink-") as downlink_folder:
    print("namespace:", em.namespace_create())

    server, client = em.pod("server"), em.pod("client")
    print(
        "server:",
        server.run(
            IMAGE, max_duration=30, namespace=True, ports=[80], command="python -m http.server 80"
        ),
    )
    print("server is", server.wait(until="running", timeout=600).kind)

    address = f"{username}-server:80"
    for attempt in range(1, TRIES + 1):
        print(
            f"client (fetches {address}), try {attempt}:",
            client.run(
                IMAGE,
                max_duration=1,
                namespace=True,
                command=f"wget {address}/ -O /data/server-data.txt",
            ),
        )
        state = client.wait(until="terminated", timeout=240, check=False)  # may retry
        print(f"client {state.kind} ({state.reason}, exit code {state.exit_code})")
        if state.exit_code == 0:
            break

    print("client's volume:", [path for path, _ in iter_files(client.files_list())])
    try:
        local = client.downlink("server-data.txt", downlink_folder)
        print("server-data.txt (the server pod's directory listing):")
        print(local.read_text(errors="replace").strip())
    except NotFoundError:
        print("server-data.txt: not on the client's volume (no pod wrote it)")
