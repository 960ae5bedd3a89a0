"""`python -m dphi_em_emulator`: start-up output, arguments, and the package's isolation."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import httpx
import pytest
from dphi_em_emulator.server import listening_socket


def test_the_command_serves_and_prints_url_and_credentials(tmp_path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dphi_em_emulator",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path / "data"),
            "--user",
            "client1:secret",
            "--user",
            "ops:pa:ss",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("DPhi EM emulator serving on http://127.0.0.1:")
        url = first.split()[-1]
        # at once, no retry: the socket listens before the URL is printed, so a client
        # that connects while uvicorn is still starting waits instead of being refused
        response = httpx.post(f"{url}auth/", data={"username": "ops", "password": "pa:ss"})
        assert response.status_code == 200
        lines = [process.stdout.readline() for _ in range(3)]
        # a password given is never printed (issue 16): only the names
        assert lines[1].split() == ["user:", "client1"]
        assert lines[2].split() == ["user:", "ops"]
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
        process.stdout.close()
        process.stderr.close()


def test_the_socket_accepts_connections_before_uvicorn_runs() -> None:
    # what the command binds and then prints: connecting at once must not be refused
    with (
        listening_socket("127.0.0.1", 0) as sock,
        socket.create_connection(sock.getsockname(), timeout=5),
    ):
        pass


@pytest.mark.parametrize(
    "args",
    [
        ["--data-dir", "x"],
        ["--data-dir", "x", "--user", "bad-name:pw"],
        ["--data-dir", "x", "--user", "a:"],
        ["--data-dir", "x", "--user", "a:b", "--not-ready-node", "cpu"],
        ["--user", "a:b"],
    ],
)
def test_bad_arguments_exit_2(tmp_path, args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dphi_em_emulator", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr


def test_bad_config_values_exit_2(tmp_path) -> None:
    from dphi_em_emulator import main

    assert main(["--data-dir", str(tmp_path), "--user", "a:b", "--time-scale", "0"]) == 2


def test_the_emulator_imports_neither_the_client_nor_the_generated_code() -> None:
    code = (
        "import sys, dphi_em_emulator, dphi_em_emulator.server, dphi_em_emulator._cli\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('dphi_em', 'em_api_client')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)


def test_the_public_names() -> None:
    import dphi_em_emulator

    assert dphi_em_emulator.__all__ == sorted(dphi_em_emulator.__all__)
    assert set(dphi_em_emulator.__all__) == {
        "EmulatorConfig",
        "EmulatorServer",
        "create_app",
        "hash_password",
        "main",
        "run_in_thread",
    }


def test_run_in_thread(tmp_path) -> None:
    from dphi_em_emulator import EmulatorConfig, run_in_thread

    config = EmulatorConfig(data_dir=tmp_path, users={"u": "p"})
    with run_in_thread(config) as server:
        assert server.url.startswith("http://127.0.0.1:")
        response = httpx.post(f"{server.url}auth/", json={"username": "u", "password": "p"})
        assert response.status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"{server.url}auth/", json={"username": "u", "password": "p"})


def test_config_rejects_nonsense(tmp_path) -> None:
    from dphi_em_emulator import EmulatorConfig

    with pytest.raises(ValueError, match="user"):
        EmulatorConfig(data_dir=tmp_path, users={})
    with pytest.raises(ValueError, match="user name"):
        EmulatorConfig(data_dir=tmp_path, users={"../x": "p"})
    with pytest.raises(ValueError, match="node"):
        EmulatorConfig(data_dir=tmp_path, users={"u": "p"}, not_ready_nodes={"tpu"})


def test_main_run_in_process_gives_the_signal_handlers_back(tmp_path) -> None:
    """`main()` called in-process (a notebook, a test) leaves Ctrl-C and SIGTERM as it found
    them: it used to leave SIGINT ignored, so a later Ctrl-C did nothing in that process."""
    import signal
    import socket
    import threading
    import time

    from dphi_em_emulator import main

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    heard: list[int] = []

    def ours(signum: int, _frame: object) -> None:
        heard.append(signum)

    def stop_once_serving() -> None:  # Ctrl-C, once the emulator answers
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    before = {s: signal.signal(s, ours) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        stopper = threading.Thread(target=stop_once_serving, daemon=True)
        stopper.start()
        args = ["--port", str(port), "--data-dir", str(tmp_path), "--user", "u:p"]
        assert main(args) == 0
        stopper.join(60)
        assert signal.getsignal(signal.SIGINT) is ours
        assert signal.getsignal(signal.SIGTERM) is ours
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
