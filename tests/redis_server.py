"""A real redis-server for the tests of the Redis mode: Debian's binary on a free loopback port,
without persistence, started once per test session and stopped by its pid.

Without redis-server the Redis tests skip on a developer machine, but fail under CI
(``CI=true``): a CI run that silently skips them proves nothing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import typing as t
from pathlib import Path

import pytest

#: Seconds redis-server has to answer PING after it starts.
START_TIMEOUT = 10.0


def require_redis(reason: str) -> t.NoReturn:
    """Skip locally; under CI a missing server is a failure, not a skip."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"Redis tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """``redis-server`` as a child process; ``url`` is where to reach it. ``persistent``: an
    append-only file synced on every write, so a restart keeps everything acknowledged.
    ``unix_url``: the same server over a Unix socket in ``folder``; with ``tls``, ``tls_url``:
    over TLS on a second port, with a certificate of a test CA made here by ``openssl``."""

    def __init__(self, folder: Path, *, persistent: bool = False, tls: bool = False) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            require_redis("redis-server is not installed (apt-get install redis-server)")
        try:
            import redis  # noqa: F401
        except ImportError:
            require_redis("the redis package is not installed (pip install redis)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.options = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        self.options += ["--dir", str(folder), "--appendonly"]
        self.options += ["yes", "--appendfsync", "always"] if persistent else ["no"]
        socket_path = folder / "redis.sock"
        self.options += ["--unixsocket", str(socket_path), "--unixsocketperm", "700"]
        self.unix_url = f"unix://{socket_path}?db=0"
        if tls:
            tls_port = free_port()
            cert, key, ca = _certificates(folder)
            self.options += ["--tls-port", str(tls_port), "--tls-auth-clients", "no"]
            self.options += ["--tls-cert-file", cert, "--tls-key-file", key]
            self.options += ["--tls-ca-cert-file", ca]
            self.tls_url = f"rediss://127.0.0.1:{tls_port}/0?ssl_ca_certs={ca}"
        self.start()

    def start(self) -> None:
        """Start (again, on the same port and folder) and wait until it answers PING."""
        import redis

        self.process = subprocess.Popen(
            [t.cast(str, self.binary), *self.options],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                client.ping()
                break
            except (redis.ConnectionError, redis.exceptions.BusyLoadingError):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.02)
        client.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _certificates(folder: Path) -> tuple[str, str, str]:
    """A test CA and a certificate it signed for 127.0.0.1: (cert, key, CA cert) paths."""
    openssl = shutil.which("openssl")
    if openssl is None:
        require_redis("openssl is not installed (apt-get install openssl)")
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca = ["-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=test CA"]
    csr = ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"]
    sign = ["-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt"]
    steps = [
        ["req", "-x509", *ec, *ca],
        ["req", *ec, *csr],
        ["x509", "-req", "-in", "server.csr", *sign, "-days", "2", "-extfile", "san.cnf"],
    ]
    for step in steps:
        subprocess.run([openssl, *step], cwd=folder, check=True, capture_output=True)
    return str(folder / "server.crt"), str(folder / "server.key"), str(folder / "ca.crt")
