"""`python -m dphi_em_emulator`: serve the emulator in the foreground until interrupted;
`python -m dphi_em_emulator images list|prepare` for the onboard registry's base images."""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from ._config import (
    API_MODES,
    DEFAULT_ACCESS_LIFETIME,
    DEFAULT_API,
    DEFAULT_BUILD_PIDS,
    DEFAULT_BUILD_TIMEOUT,
    DEFAULT_MAX_UPLINK_BYTES,
    DEFAULT_POD_MEMORY,
    DEFAULT_POD_PIDS,
    DEFAULT_POD_START_DELAY,
    DEFAULT_PUBLIC_IMAGES,
    DEFAULT_REFRESH_LIFETIME,
    DEFAULT_REQUEST_IDLE_TIMEOUT,
    DEFAULT_STOP_GRACE,
    DEFAULT_TELEMETRY_CADENCE,
    DEFAULT_TELEMETRY_HISTORY,
    DEFAULT_TELEMETRY_IMAGES,
    DEFAULT_TELEMETRY_PORT,
    NODE_NAMES,
    ON_STOP_MODES,
    PODS_MODES,
    EmulatorConfig,
)
from ._dockerfile import parse_registry_map
from ._users import USERS_ENV, parse_users, read_users_file

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _user(text: str) -> tuple[str, str | None]:
    name, sep, password = text.partition(":")
    if not name or (sep and not password):
        raise argparse.ArgumentTypeError(f"expected NAME or NAME:PASSWORD, got {name!r}...")
    return name, password or None


def _accounts(
    args: argparse.Namespace, environ: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """(every user -> password or hash, the passwords generated here): from `--user`,
    `--users-file` and `DPHI_EM_USERS`; a `--user NAME` without a password gets a fresh one.

    Raises:
        ValueError: A bad entry, a users file others may read, a user given twice.
        OSError: The users file can't be read.
    """
    sources: list[dict[str, str]] = []
    generated: dict[str, str] = {}
    given: dict[str, str] = {}
    for name, password in args.users or []:
        if name in given or name in generated:
            raise ValueError(f"--user: user {name!r} is given twice")
        if password is None:
            generated[name] = secrets.token_urlsafe(12)
        else:
            given[name] = password
    sources.append({**given, **generated})
    if args.users_file is not None:
        sources.append(read_users_file(args.users_file))
    if environ.get(USERS_ENV):
        sources.append(parse_users(environ[USERS_ENV], USERS_ENV))
    users: dict[str, str] = {}
    for source in sources:
        for name, password in source.items():
            if name in users:
                raise ValueError(
                    f"user {name!r} is given twice (--user, --users-file, {USERS_ENV})"
                )
            users[name] = password
    if not users:
        raise ValueError(f"no user: give --user NAME[:PASSWORD], --users-file FILE or {USERS_ENV}")
    return users, generated


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dphi_em_emulator",
        description="A local emulator of the DPhi Space CG2 EM API (pods run on a Docker engine "
        "when one answers, else they are simulated).",
        epilog="Base images: 'python -m dphi_em_emulator images list' shows the onboard "
        "registry's images and what the engine has for each; 'images prepare NAME...' makes "
        "their offline stand-ins (no emulator needs to run).",
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, loopback)")
    add("--port", type=int, default=8000, help="port (default: 8000; 0 picks a free one)")
    add("--data-dir", type=Path, required=True, help="volumes, images, pods and keys live here")
    add(
        "--user",
        dest="users",
        type=_user,
        action="append",
        metavar="NAME[:PASSWORD]",
        help="a user the emulator accepts (repeatable; none is built in); without a password "
        "one is generated and printed. A password here is visible to every local user in "
        f"the process list: prefer --users-file or {USERS_ENV}",
    )
    add(
        "--users-file",
        type=Path,
        metavar="FILE",
        help="NAME:PASSWORD or NAME:pbkdf2_sha256$... lines; the file must be mode 0600",
    )
    add("--access-lifetime", type=float, default=DEFAULT_ACCESS_LIFETIME, metavar="SECONDS")
    add("--refresh-lifetime", type=float, default=DEFAULT_REFRESH_LIFETIME, metavar="SECONDS")
    add(
        "--max-uplink-bytes",
        type=int,
        default=DEFAULT_MAX_UPLINK_BYTES,
        metavar="N",
        help=f"most file bytes per uplink call (default: {DEFAULT_MAX_UPLINK_BYTES})",
    )
    add("--no-lock", action="store_true", help="never answer 423 LOCKED (serve concurrently)")
    add(
        "--public-image",
        dest="public_images",
        action="append",
        metavar="IMAGE",
        help=f"an image any user may run (repeatable; default: {', '.join(DEFAULT_PUBLIC_IMAGES)})",
    )
    add(
        "--time-scale",
        type=float,
        default=1.0,
        help="pods live this much faster than the wall clock (default: 1)",
    )
    add("--pod-start-delay", type=float, default=DEFAULT_POD_START_DELAY, metavar="SECONDS")
    add(
        "--request-idle-timeout",
        type=float,
        default=DEFAULT_REQUEST_IDLE_TIMEOUT,
        metavar="SECONDS",
        help="drop a request whose body stalls this long, freeing the lock (default: 60)",
    )
    add(
        "--not-ready-node",
        dest="not_ready_nodes",
        action="append",
        choices=sorted(NODE_NAMES.values()),
        help="report this node as not ready (repeatable)",
    )
    add(
        "--api",
        choices=API_MODES,
        default=DEFAULT_API,
        help="the EM API revision to serve: one strictly, or both (default: both)",
    )
    _add_engine_options(parser)
    _add_telemetry_options(parser)
    add("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    return parser


def _size(text: str) -> int:
    units = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
    number, unit = text.strip().lower().rstrip("b"), ""
    if number and number[-1] in units:
        number, unit = number[:-1], number[-1]
    try:
        return int(float(number) * units[unit])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a size such as 512m or 1g, got {text!r}"
        ) from None


def _add_engine_options(parser: argparse.ArgumentParser) -> None:
    """The pod engine's options (see emulator/README.md, "Pods that run")."""
    group = parser.add_argument_group("pod engine")
    add = group.add_argument
    add(
        "--pods",
        choices=PODS_MODES,
        default="auto",
        help="run pods on a Docker engine, or simulate them (default: auto = docker when an "
        "engine answers at DOCKER_HOST or the default socket, else simulated)",
    )
    add("--docker-host", metavar="URL", help="the Docker engine (default: DOCKER_HOST)")
    add(
        "--registry-map",
        dest="registry_map",
        action="append",
        default=[],
        metavar="FROM=TO",
        help="the local image standing for an onboard registry image, or a prefix ending in "
        "'/' (repeatable; default: fpga.dphi.space:5000/=, i.e. fpga.dphi.space:5000/X is X)",
    )
    add("--pull", action="store_true", help="let the engine pull images it lacks (default: off)")
    add(
        "--require-arch",
        metavar="ARCH",
        help="refuse images not built for ARCH (CG2: arm64) at build, load and run",
    )
    add(
        "--catalogue",
        type=Path,
        metavar="FILE",
        help="the onboard registry's images (TSV: name, tag, version), replacing the "
        "vendor's list (see: python -m dphi_em_emulator images list)",
    )
    add(
        "--any-image",
        action="store_true",
        help="accept base images and public images outside the onboard registry's catalogue",
    )
    add(
        "--standin-record",
        type=Path,
        metavar="FILE",
        help="the record of the engine's stand-in images "
        "(default: $XDG_CACHE_HOME/dphi-em/standins.json)",
    )
    add("--pod-memory", type=_size, default=DEFAULT_POD_MEMORY, metavar="SIZE")
    add("--pod-pids", type=int, default=DEFAULT_POD_PIDS, metavar="N")
    add(
        "--stop-grace",
        type=float,
        default=DEFAULT_STOP_GRACE,
        metavar="SECONDS",
        help="between a pod's SIGTERM at max_duration and its kill (scaled; default: 30)",
    )
    add(
        "--build-timeout",
        type=float,
        default=DEFAULT_BUILD_TIMEOUT,
        metavar="SECONDS",
        help="a Docker build taking longer fails (default: 600, as the EM's builder)",
    )
    add("--build-pids", type=int, default=DEFAULT_BUILD_PIDS, metavar="N")
    add(
        "--on-stop",
        choices=ON_STOP_MODES,
        default="remove-pods",
        help="what stopping the emulator does to its Docker pods (default: remove-pods; "
        "purge also removes the images it built, loaded or tagged)",
    )


def _add_telemetry_options(parser: argparse.ArgumentParser) -> None:
    """The telemetry service's options (see docs/telemetry.md)."""
    group = parser.add_argument_group("telemetry service (satellite-telemetry.dphi-tm)")
    add = group.add_argument
    add("--no-telemetry", action="store_true", help="do not serve the telemetry service")
    add("--telemetry-seed", type=int, default=0, metavar="N", help="makes the data (default: 0)")
    add(
        "--tle",
        type=Path,
        metavar="FILE",
        help="a TLE (two or three lines) to propagate (default: a 500 km sun-synchronous orbit)",
    )
    add(
        "--telemetry-port",
        type=int,
        metavar="PORT",
        help="the service's emulator-only ground port on 127.0.0.1, for `dphi-em telemetry` "
        f"(default: {DEFAULT_TELEMETRY_PORT}, or a free one when another emulator has it; "
        "0 picks a free one)",
    )
    add("--telemetry-history", type=float, default=DEFAULT_TELEMETRY_HISTORY, metavar="SECONDS")
    add("--telemetry-cadence", type=float, default=DEFAULT_TELEMETRY_CADENCE, metavar="SECONDS")
    add("--telemetry-images", type=int, default=DEFAULT_TELEMETRY_IMAGES, metavar="N")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator until interrupted (or `images ...`); return the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["images"]:  # the onboard registry's images: no emulator needed
        from ._images_command import main as images_main

        return images_main(arguments[1:])
    import uvicorn

    from .app import create_app
    from .server import listening_socket

    parser = build_parser()
    args = parser.parse_args(arguments)
    try:
        users, generated = _accounts(args, os.environ)
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    try:
        tle = args.tle.read_text(encoding="utf-8") if args.tle is not None else None
        config = EmulatorConfig(
            data_dir=args.data_dir,
            users=users,
            access_lifetime=args.access_lifetime,
            refresh_lifetime=args.refresh_lifetime,
            max_uplink_bytes=args.max_uplink_bytes,
            lock_enabled=not args.no_lock,
            public_images=tuple(args.public_images or DEFAULT_PUBLIC_IMAGES),
            time_scale=args.time_scale,
            pod_start_delay=args.pod_start_delay,
            request_idle_timeout=args.request_idle_timeout,
            not_ready_nodes=frozenset(args.not_ready_nodes or ()),
            api=args.api,
            pods=args.pods,
            docker_host=args.docker_host,
            registry_map=parse_registry_map(args.registry_map),
            pull=args.pull,
            require_arch=args.require_arch,
            catalogue=args.catalogue,
            any_image=args.any_image,
            standin_record=args.standin_record,
            pod_memory=args.pod_memory,
            pod_pids=args.pod_pids,
            stop_grace=args.stop_grace,
            on_stop=args.on_stop,
            build_timeout=args.build_timeout,
            build_pids=args.build_pids,
            telemetry=not args.no_telemetry,
            telemetry_seed=args.telemetry_seed,
            tle=tle,
            telemetry_port=(
                DEFAULT_TELEMETRY_PORT if args.telemetry_port is None else args.telemetry_port
            ),
            telemetry_port_fallback=args.telemetry_port is None,
            telemetry_history=args.telemetry_history,
            telemetry_cadence=args.telemetry_cadence,
            telemetry_images=args.telemetry_images,
        )
        app = create_app(config)
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        sock = listening_socket(args.host, args.port)
    except OSError as exc:
        print(f"error: cannot bind {args.host}:{args.port}: {exc}", file=sys.stderr)
        app.state.emulator.close()
        return 1
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"DPhi EM emulator serving on http://{host}:{port}/", flush=True)
    print(f"data dir: {config.data_dir.resolve()}", flush=True)
    for name in config.users:  # a password is printed only when generated here
        password = f"  password: {generated[name]} (generated)" if name in generated else ""
        print(f"user: {name}{password}", flush=True)
    print(f"EM API revision: {config.api}", flush=True)
    print(app.state.emulator.engine_line, flush=True)
    print(
        "base images: the onboard registry's (dphi-em emulator images list, or python -m "
        "dphi_em_emulator images list; their stand-ins: ... images prepare NAME)",
        flush=True,
    )
    if app.state.emulator.telemetry is not None:
        print(app.state.emulator.telemetry.describe(), flush=True)
    if args.host not in _LOOPBACK:
        print(f"warning: listening on {args.host}, not only on this machine", file=sys.stderr)
    server = uvicorn.Server(
        uvicorn.Config(app, log_level=args.log_level, access_log=False, lifespan="off")
    )
    # SIGTERM (systemd, Docker, Kubernetes) stops as Ctrl-C does: uvicorn handles both while
    # it runs, then raises the signal again once it has stopped; SIGTERM's default action
    # would end the process before `close` removes what `--on-stop` says.
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=[sock])
    finally:
        with contextlib.suppress(KeyboardInterrupt):  # a second signal: finish the cleanup
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            app.state.emulator.close()
        # called in-process (a notebook, a test): Ctrl-C and SIGTERM work again after it
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
