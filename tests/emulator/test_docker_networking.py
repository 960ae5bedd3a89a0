"""Pods reaching each other on real containers, without a bridge, in each API revision.

- January 2026 (`--api 2026-01`, and `both` for a run without `namespace=true`): no
  namespaces; every pod of a user joins the user's loopback-only network namespace and
  reaches the others by pod name (`wget server:80/`).
- November 2025 (`--api 2025-11`): only pods run with `namespace=true` after
  `namespace/create` share it (as `<user>-<pod_name>`); any other pod has no network.

(The seed's namespace example, on a `both` emulator: test_docker_seed_examples.py.)
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.docker

ONBOARD = "fpga.dphi.space:5000/busybox:1.36"
LABEL_EMULATOR = "space.dphi.em.emulator"
LABEL_POD = "space.dphi.em.pod"
PAGE = b"<h1>hello from the server pod</h1>\n"


def _fetch_line(address: str, into: str) -> str:
    """A shell line: fetch `address` into `/data/<into>`; the server may still be starting to
    listen, so a few tries; then the pod's network devices into `/data/net`."""
    return (
        f"rc=1; for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O /data/{into} {address}/ "
        "&& { rc=0; break; }; sleep 0.3; done; ls /sys/class/net > /data/net; exit $rc"
    )


def _container(client, server, pod: str):
    labels = [f"{LABEL_EMULATOR}={server.emulator.engine.instance}", f"{LABEL_POD}={pod}"]
    (container,) = client.containers.list(all=True, filters={"label": labels})
    return container


@pytest.mark.parametrize("api", ["2026-01", "both"])
def test_january_pods_reach_each_other_by_pod_name(
    make_docker_em, docker_http, docker_client, docker_pod: str, api: str
) -> None:
    server_em = make_docker_em(api=api)
    em = docker_http(server_em)
    if api == "2026-01":  # no namespace exists in this revision, and none is asked for
        assert em.post("em/pod/namespace/create").status_code == 404
    server, client = docker_pod + "-server", docker_pod + "-client"
    em.uplink({"index.html": PAGE}, pod=server)
    em.run(ONBOARD, server, max_duration=30, ports=[80], command="httpd -f -p 80 -h /data")
    em.wait(server, until="running")
    report = em.status(server)["emulator"]
    assert report["network"] == "user"
    assert report["addresses"] == [f"{server}:80", f"client1-{server}:80"]
    # no bridge: the pod shares a sandbox's namespace, and the sandbox has none
    mode = _container(docker_client, server_em, server).attrs["HostConfig"]["NetworkMode"]
    sandbox = docker_client.containers.get(mode.removeprefix("container:"))
    assert sandbox.attrs["HostConfig"]["NetworkMode"] == "none"
    networks = sandbox.attrs["NetworkSettings"]["Networks"]
    assert set(networks) == {"none"}
    assert networks["none"]["IPAddress"] == ""

    em.run(
        ONBOARD,
        client,
        max_duration=30,
        command="/bin/sh -c",
        args=[_fetch_line(f"{server}:80", "got")],
    )
    assert em.wait(client)["exitCode"] == 0
    assert em.fetch("got", client).content == PAGE  # byte-exact, over the pod's loopback
    assert em.fetch("net", client).content == b"lo\n"  # the only device: no other address

    # another user's pods are in a namespace of their own: the server is not reached
    other = docker_http(server_em, "client2")
    other.run(
        ONBOARD,
        client,
        max_duration=30,
        command="/bin/sh -c",
        args=[_fetch_line(f"{server}:80", "got")],
    )
    assert other.wait(client)["exitCode"] == 1
    assert other.fetch("net", client).content == b"lo\n"
    got = other.fetch("got", client)
    assert got.status_code == 404 or got.content == b""
    em.run(ONBOARD, server, command="true")  # replace: stops the server now
    assert em.wait(server)["exitCode"] == 0


def test_november_pods_outside_a_namespace_have_no_network(
    make_docker_em, docker_http, docker_client, docker_pod: str
) -> None:
    server_em = make_docker_em(api="2025-11")
    em = docker_http(server_em)
    assert em.post("em/pod/namespace/create").status_code == 200
    server, client, lone = (docker_pod + suffix for suffix in ("-server", "-client", "-lone"))
    em.uplink({"index.html": PAGE}, pod=server)
    em.run(
        ONBOARD,
        server,
        max_duration=30,
        namespace=True,
        ports=[80],
        command="httpd -f -p 80 -h /data",
    )
    em.wait(server, until="running")
    assert em.status(server)["emulator"]["addresses"] == [
        f"client1-{server}:80",
        f"{server}:80",
    ]
    address = f"client1-{server}:80"
    em.run(
        ONBOARD, client, namespace=True, command="/bin/sh -c", args=[_fetch_line(address, "got")]
    )
    assert em.wait(client)["exitCode"] == 0
    assert em.fetch("got", client).content == PAGE

    em.run(ONBOARD, lone, max_duration=30, command="sleep 600")
    em.wait(lone, until="running")
    # a pod without network has a loopback-only namespace of its own (a pause container with
    # network none), where only the telemetry service listens (docs/telemetry.md)
    mode = _container(docker_client, server_em, lone).attrs["HostConfig"]["NetworkMode"]
    assert mode.startswith("container:")
    holder = docker_client.containers.get(mode.removeprefix("container:"))
    assert holder.attrs["HostConfig"]["NetworkMode"] == "none"
    assert holder.labels["space.dphi.em.role"] == "pod-namespace"
    assert em.status(lone)["emulator"]["network"] == "none"
    em.run(ONBOARD, lone, max_duration=30, command="/bin/sh -c", args=[_fetch_line(address, "got")])
    assert em.wait(lone)["exitCode"] == 1
    got = em.fetch("got", lone)
    assert got.status_code == 404 or got.content == b""
    assert em.fetch("net", lone).content == b"lo\n"
    em.run(ONBOARD, server, command="true")
    assert em.wait(server)["exitCode"] == 0
