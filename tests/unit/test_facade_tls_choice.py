"""An `http://` client loads no CA bundle (its construction is 14x cheaper), and still never
lets a TLS connection through unverified."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from dphi_em import EMClient
from dphi_em._transports._network import _tls_verify


def test_the_choice() -> None:
    assert _tls_verify(True, "https://em/", None) is True
    assert _tls_verify(False, "http://em/", None) is False
    assert _tls_verify("/ca.pem", "http://em/", None) == "/ca.pem"
    assert _tls_verify(True, "http://em/", httpx.Proxy("https://proxy:3128/")) is True
    bare = _tls_verify(True, "http://em/", None)
    assert isinstance(bare, ssl.SSLContext)
    assert bare.verify_mode == ssl.CERT_REQUIRED
    assert bare.check_hostname
    assert bare.cert_store_stats()["x509_ca"] == 0  # nothing loaded, nothing trusted


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[int]:
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl to make a self-signed certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    handshakes: list[bool] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    handshakes.append(True)
                    tls.recv(1024)
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            except (ssl.SSLError, OSError):
                handshakes.append(False)

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


def test_an_http_client_refuses_unverified_tls(tls_server: int) -> None:
    em = EMClient("http://127.0.0.1:9/", "u", "p", retry=False)
    with em, pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        em.http_client.get(f"https://127.0.0.1:{tls_server}/", auth=None)
