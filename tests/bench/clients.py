"""The measured Python clients, one per child process: `python clients.py NAME JSON`.

Each client imports only its own library, sets up (logs in, opens its connection) outside
the timed region, runs its transfer or its calls once inside it (`_child.measure`) and
prints the report as one JSON line. The baselines are written the way a user of that
library would write them:

- `requests_*`: the vendor example client's habits: module-level `requests.post`/`get`
  (a new connection per call), `files=[("files", open(...))]` (the whole multipart body
  built in memory), `stream=True` with `iter_content(1 MiB)` for downloads.
- `httpx_list`: one `httpx.Client` (keep-alive) with the same bearer token;
  `httpx_async_list`: one `httpx.AsyncClient`, the same calls awaited.
- `facade_*`: `dphi_em.EMClient`, as documented; `async_*`: `dphi_em.AsyncEMClient`, the
  same calls awaited in one `asyncio.run` (set-up inside it, before the timed region).

JSON arguments: `url` (with a trailing `/`), `username`/`password` (facade) or `token`
(baselines), and per client: `paths` (uplink; a list of batches for the baselines), `dest`,
`bytes` (the payload, checked), `check_count` (check the server's file count),
`filepath`/`out_dir` (downlink), `pod_name`/`calls` (list), `profile` (wrap the timed
region in cProfile).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from _child import ameasure, emit, measure

__all__ = ["CLIENTS", "main"]

Args = dict[str, Any]
_MIB = 1024 * 1024
#: Seconds per socket operation for requests (the vendor client sets none; same effect here).
_TIMEOUT = 300


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise RuntimeError(message)


# -- facade ---------------------------------------------------------------------------------


def _facade(args: Args) -> Any:
    from dphi_em import EMClient

    em = EMClient(
        base_url=args["url"], username=args["username"], password=args["password"], progress=False
    )
    em.get_token()
    return em


def facade_uplink(args: Args) -> Args:
    """`EMClient.uplink(paths, dest_path=dest)`: one call for a big file, batches of 100."""
    with _facade(args) as em:

        def work() -> Args:
            result = em.uplink(args["paths"], dest_path=args["dest"])
            _check(result.total_bytes == args["bytes"], f"sent {result.total_bytes} bytes")
            if args.get("check_count", True):
                count = result.file_count
                _check(count == len(args["paths"]), f"the server kept {count} files")
            return {"bytes": result.total_bytes, "calls": result.calls}

        return measure(work, profile=args.get("profile", False))


def facade_downlink(args: Args) -> Args:
    """`EMClient.downlink(filepath, out_dir, overwrite=True)`."""
    with _facade(args) as em:

        def work() -> Args:
            path = em.downlink(args["filepath"], args["out_dir"], overwrite=True)
            size = os.stat(path).st_size
            _check(size == args["bytes"], f"received {size} bytes")
            return {"bytes": size}

        return measure(work, profile=args.get("profile", False))


def facade_list(args: Args) -> Args:
    """`EMClient.files_list(pod_name)`, `calls` times in a row (after one warm-up call)."""
    with _facade(args) as em:
        pod, calls = args["pod_name"], args["calls"]
        expected = len(em.files_list(pod))

        def work() -> Args:
            for _ in range(calls):
                tree = em.files_list(pod)
            _check(len(tree) == expected, "the listing changed")
            return {"calls": calls, "entries": len(tree)}

        return measure(work, profile=args.get("profile", False))


def facade_help(args: Args) -> Args:
    """`dphi-em --help` in-process (for the profile of a start-up miss; not timed as such)."""

    def work() -> Args:
        from dphi_em.cli import main

        with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
            main(["--help"])
        return {}

    return measure(work, profile=args.get("profile", False))


def facade_tree_uplink(args: Args) -> Args:
    """`EMClient.uplink([local_dir], dest_path=dest)`: a full re-uplink of a folder."""
    with _facade(args) as em:

        def work() -> Args:
            result = em.uplink([args["local_dir"]], dest_path=args["dest"])
            _check(result.total_bytes == args["bytes"], f"sent {result.total_bytes} bytes")
            _check(result.file_count == args["files"], f"the server kept {result.file_count}")
            return {"bytes": result.total_bytes, "calls": result.calls}

        return measure(work, profile=args.get("profile", False))


def facade_sync_up(args: Args) -> Args:
    """`EMClient.sync_up(local_dir, remote_dir)` of a tree the volume already holds.

    One sync first, unmeasured: after an `uplink` nothing records that the two copies are
    equal, so that sync sends the tree and writes the sync record the measured ones use.
    """
    with _facade(args) as em:
        em.sync_up(args["local_dir"], args["remote_dir"])

        def work() -> Args:
            result = em.sync_up(args["local_dir"], args["remote_dir"])
            sent = len(result.transferred)
            _check(sent == 0, f"the sync sent {sent} files of an unchanged tree")
            skipped = len(result.skipped)
            _check(skipped == args["files"], f"the sync found {skipped} files the same")
            return {"skipped": skipped, "calls": result.calls}

        return measure(work, profile=args.get("profile", False))


def facade_workflow(args: Args) -> Args:
    """The seed's simple operations with `EMClient`, log-in included (see `requests_workflow`).

    The timed region starts before `EMClient(...)`: building the client (httpx's SSL
    context) is part of a script's run; its share is reported as `construct_s`.
    """
    from dphi_em import EMClient

    def work() -> Args:
        started = time.perf_counter()
        with EMClient(
            base_url=args["url"],
            username=args["username"],
            password=args["password"],
            progress=False,
        ) as em:
            constructed = time.perf_counter() - started
            em.get_token()
            em.uplink(args["paths"], dest_path="echo-test")
            em.image_build("./echo-test/Dockerfile", "echo-test", "./echo-test")
            em.run("echo-test", max_duration=1)
            state = em.pod_status()
            local = em.downlink("echo-test/echo-test.sh", args["out_dir"], overwrite=True)
            _check(local.read_bytes() == args["script"].encode(), "the script came back changed")
            em.delete("echo-test")
        return {"state": state.kind, "construct_s": constructed}

    return measure(work, profile=args.get("profile", False))


# -- the async facade -----------------------------------------------------------------------
#
# One `asyncio.run` per child: the loop starts, the client logs in, then the timed region
# (`ameasure`) awaits the same calls as the sync facade's children above.


async def _async_facade(args: Args) -> Any:
    from dphi_em import AsyncEMClient

    em = AsyncEMClient(
        base_url=args["url"], username=args["username"], password=args["password"], progress=False
    )
    await em.get_token()
    return em


async def _async_uplink(args: Args) -> Args:
    async with await _async_facade(args) as em:

        async def work() -> Args:
            result = await em.uplink(args["paths"], dest_path=args["dest"])
            _check(result.total_bytes == args["bytes"], f"sent {result.total_bytes} bytes")
            if args.get("check_count", True):
                count = result.file_count
                _check(count == len(args["paths"]), f"the server kept {count} files")
            return {"bytes": result.total_bytes, "calls": result.calls}

        return await ameasure(work, profile=args.get("profile", False))


def async_uplink(args: Args) -> Args:
    """`await AsyncEMClient.uplink(paths, dest_path=dest)`, like `facade_uplink`."""
    return asyncio.run(_async_uplink(args))


async def _async_downlink(args: Args) -> Args:
    async with await _async_facade(args) as em:

        async def work() -> Args:
            path = await em.downlink(args["filepath"], args["out_dir"], overwrite=True)
            size = os.stat(path).st_size
            _check(size == args["bytes"], f"received {size} bytes")
            return {"bytes": size}

        return await ameasure(work, profile=args.get("profile", False))


def async_downlink(args: Args) -> Args:
    """`await AsyncEMClient.downlink(filepath, out_dir, overwrite=True)`."""
    return asyncio.run(_async_downlink(args))


async def _async_list(args: Args) -> Args:
    async with await _async_facade(args) as em:
        pod, calls = args["pod_name"], args["calls"]
        expected = len(await em.files_list(pod))

        async def work() -> Args:
            for _ in range(calls):
                tree = await em.files_list(pod)
            _check(len(tree) == expected, "the listing changed")
            return {"calls": calls, "entries": len(tree)}

        return await ameasure(work, profile=args.get("profile", False))


def async_list(args: Args) -> Args:
    """`await AsyncEMClient.files_list(pod_name)`, `calls` times in a row (after a warm-up)."""
    return asyncio.run(_async_list(args))


# -- requests, the vendor example client's way ----------------------------------------------


def requests_uplink(args: Args) -> Args:
    """`requests.post(url, files=[("files", open(...)), ...])` for each batch of paths."""
    import requests

    url = args["url"] + "em/files/uplink"
    headers = {"Authorization": f"Bearer {args['token']}"}

    def work() -> Args:
        sent = 0
        for batch in args["paths"]:
            handles = [open(path, "rb") for path in batch]  # noqa: SIM115
            try:
                files = [("files", handle) for handle in handles]
                response = requests.post(
                    url,
                    files=files,
                    data={"dest_path": args["dest"]},
                    headers=headers,
                    timeout=_TIMEOUT,
                )
            finally:
                for handle in handles:
                    handle.close()
            _check(response.status_code == 200, f"answered {response.status_code}")
            sent += sum(os.stat(path).st_size for path in batch)
        _check(sent == args["bytes"], f"sent {sent} bytes")
        return {"bytes": sent, "calls": len(args["paths"])}

    return measure(work, profile=args.get("profile", False))


def requests_downlink(args: Args) -> Args:
    """`requests.get(url, stream=True)` written with `iter_content(1 MiB)`."""
    import requests

    url = args["url"] + "em/files/downlink"
    headers = {"Authorization": f"Bearer {args['token']}"}
    target = os.path.join(args["out_dir"], os.path.basename(args["filepath"]))

    def work() -> Args:
        params = {"filepath": args["filepath"]}
        with requests.get(
            url, params=params, headers=headers, stream=True, timeout=_TIMEOUT
        ) as response:
            _check(response.status_code == 200, f"answered {response.status_code}")
            with open(target, "wb") as out:
                for chunk in response.iter_content(_MIB):
                    out.write(chunk)
        size = os.stat(target).st_size
        _check(size == args["bytes"], f"received {size} bytes")
        return {"bytes": size}

    return measure(work, profile=args.get("profile", False))


def requests_list(args: Args) -> Args:
    """`requests.get(url, params, headers).json()`: a new connection per call."""
    import requests

    url = args["url"] + "em/files/list"
    headers = {"Authorization": f"Bearer {args['token']}"}
    params = {"pod_name": args["pod_name"]}
    calls = args["calls"]

    def call() -> Any:
        response = requests.get(url, params=params, headers=headers, timeout=_TIMEOUT)
        response.raise_for_status()
        return response.json()

    expected = len(call()["data"])

    def work() -> Args:
        for _ in range(calls):
            body = call()
        _check(len(body["data"]) == expected, "the listing changed")
        return {"calls": calls, "entries": expected}

    return measure(work, profile=args.get("profile", False))


def requests_workflow(args: Args) -> Args:
    """The seed's simple operations the vendor client's way, one `requests` call per step
    (a new connection each): log in, uplink the Dockerfile and script, build, run, status,
    downlink the script, delete the folder."""
    import requests

    url = args["url"]

    def work() -> Args:
        answer = requests.post(
            url + "auth/",
            data={"username": args["username"], "password": args["password"]},
            timeout=_TIMEOUT,
        )
        _check(answer.status_code == 200, f"auth answered {answer.status_code}")
        headers = {"Authorization": f"Bearer {answer.json()['access']}"}

        def post(path: str, **kwargs: Any) -> Any:
            response = requests.post(url + path, headers=headers, timeout=_TIMEOUT, **kwargs)
            _check(response.status_code == 200, f"{path} answered {response.status_code}")
            return response.json()

        handles = [open(path, "rb") for path in args["paths"]]  # noqa: SIM115
        try:
            post(
                "em/files/uplink",
                files=[("files", handle) for handle in handles],
                data={"dest_path": "echo-test"},
            )
        finally:
            for handle in handles:
                handle.close()
        post(
            "em/pod/image/build",
            json={
                "dockerfile": "./echo-test/Dockerfile",
                "image": "echo-test",
                "context": "./echo-test",
            },
        )
        post("em/pod/run", json={"image": "echo-test", "node": "FPGA", "max_duration": 1})
        status = requests.get(url + "em/pod/status", headers=headers, timeout=_TIMEOUT)
        _check(status.status_code == 200, f"status answered {status.status_code}")
        state = status.json()["data"]["state"]
        target = os.path.join(args["out_dir"], "echo-test.sh")
        with requests.get(
            url + "em/files/downlink",
            params={"filepath": "echo-test/echo-test.sh"},
            headers=headers,
            stream=True,
            timeout=_TIMEOUT,
        ) as response:
            _check(response.status_code == 200, f"downlink answered {response.status_code}")
            with open(target, "wb") as out:
                for chunk in response.iter_content(_MIB):
                    out.write(chunk)
        with open(target, "rb") as back:
            _check(back.read() == args["script"].encode(), "the script came back changed")
        post("em/files/delete", json={"filepath": "echo-test"})
        return {"state": sorted(state)}

    return measure(work, profile=args.get("profile", False))


# -- raw httpx ------------------------------------------------------------------------------


def httpx_list(args: Args) -> Args:
    """One keep-alive `httpx.Client`: `client.get("em/files/list", params).json()`."""
    import httpx

    headers = {"Authorization": f"Bearer {args['token']}"}
    params = {"pod_name": args["pod_name"]}
    calls = args["calls"]
    with httpx.Client(base_url=args["url"], headers=headers) as client:

        def call() -> Any:
            response = client.get("em/files/list", params=params)
            response.raise_for_status()
            return response.json()

        expected = len(call()["data"])

        def work() -> Args:
            for _ in range(calls):
                body = call()
            _check(len(body["data"]) == expected, "the listing changed")
            return {"calls": calls, "entries": expected}

        return measure(work, profile=args.get("profile", False))


async def _httpx_async_list(args: Args) -> Args:
    import httpx

    headers = {"Authorization": f"Bearer {args['token']}"}
    params = {"pod_name": args["pod_name"]}
    calls = args["calls"]
    async with httpx.AsyncClient(base_url=args["url"], headers=headers) as client:

        async def call() -> Any:
            response = await client.get("em/files/list", params=params)
            response.raise_for_status()
            return response.json()

        expected = len((await call())["data"])

        async def work() -> Args:
            for _ in range(calls):
                body = await call()
            _check(len(body["data"]) == expected, "the listing changed")
            return {"calls": calls, "entries": expected}

        return await ameasure(work, profile=args.get("profile", False))


def httpx_async_list(args: Args) -> Args:
    """One keep-alive `httpx.AsyncClient`, the same calls awaited (one `asyncio.run`)."""
    return asyncio.run(_httpx_async_list(args))


CLIENTS: dict[str, Callable[[Args], Args]] = {
    "facade_uplink": facade_uplink,
    "facade_downlink": facade_downlink,
    "facade_list": facade_list,
    "facade_help": facade_help,
    "async_uplink": async_uplink,
    "async_downlink": async_downlink,
    "async_list": async_list,
    "requests_uplink": requests_uplink,
    "requests_downlink": requests_downlink,
    "requests_list": requests_list,
    "httpx_list": httpx_list,
    "facade_tree_uplink": facade_tree_uplink,
    "facade_sync_up": facade_sync_up,
    "facade_workflow": facade_workflow,
    "requests_workflow": requests_workflow,
    "httpx_async_list": httpx_async_list,
}


def main(argv: list[str]) -> int:
    """Run client `argv[0]` with the JSON arguments `argv[1]`; print its report."""
    emit(CLIENTS[argv[0]](json.loads(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
