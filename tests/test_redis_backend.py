"""The Redis backend across real processes: engine processes (``tests/apps/redis_worker.py``)
run the jobs the test process submits, on a real redis-server. A concurrency limit holds across
all of them; a process killed (kill -9) or frozen (SIGSTOP) past its lease loses its run to a
failure message, never to silence, and a frozen one's late result is refused."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import typing as t
import uuid
from pathlib import Path

import pytest

from flask_gallery.queue import EventEngine
from flask_gallery.queue.redis_backend import LAPSED, RedisBackend
from flask_gallery.queue.redis_client import connect

from .apps.redis_worker import listeners
from .test_queue_support import Recorder, eventually

ROOT = Path(__file__).resolve().parent.parent
#: Seconds any wait of these tests may take at most.
LIMIT = 30.0

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="signals")


class Workers:
    """Engine processes on the same Redis and prefix."""

    def __init__(self, url: str, prefix: str, count: int, lease: float) -> None:
        self.processes = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.apps.redis_worker", url, prefix, str(lease)],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(count)
        ]
        for process in self.processes:
            ready = _readline(process, LIMIT)
            assert ready == "ready\n", f"a worker did not start: {ready!r}"

    def stop(self) -> None:
        for process in self.processes:
            with contextlib.suppress(OSError):
                os.kill(process.pid, signal.SIGCONT)
            if process.poll() is None:
                assert process.stdin is not None
                with contextlib.suppress(OSError):
                    process.stdin.close()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()


def _readline(process: subprocess.Popen[str], limit: float) -> str:
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()))  # type: ignore[union-attr]
    reader.start()
    reader.join(limit)
    return line[0] if line else ""


@pytest.fixture
def setup(redis_url: str) -> t.Iterator[t.Callable[..., tuple[EventEngine, t.Any, Workers]]]:
    """An engine in the test process that submits but runs nothing, and worker processes."""
    made: list[tuple[EventEngine, Workers]] = []

    def start(count: int, lease: float = 30.0) -> tuple[EventEngine, t.Any, Workers]:
        prefix = f"t{uuid.uuid4().hex[:6]}:"
        client = connect(redis_url)
        engine = EventEngine(backend=RedisBackend(client, prefix, lease=lease, run_handlers=False))
        found = listeners(client, prefix)
        engine.register(*found.values())
        workers = Workers(redis_url, prefix, count, lease)
        made.append((engine, workers))
        return engine, (client, prefix, found), workers

    yield start
    for engine, workers in made:
        workers.stop()
        engine.shutdown(timeout=5.0)


def test_a_concurrency_limit_holds_across_three_processes(setup: t.Any) -> None:
    engine, (client, prefix, found), workers = setup(3)
    pages = [f"p{n}" for n in range(30)]
    rec = Recorder(engine, *pages)
    jobs = [engine.submit(found["slow"], page, [page]).job_id for page in pages]
    for job in jobs:
        assert rec.terminal(job)["type"] == "done"
    assert int(client.get(prefix + "peak")) == 2  # the limit was reached, never passed
    ran_by = {client.get(prefix + f"ran:{page}") for page in pages}
    assert len(ran_by) >= 2, "one process ran everything: nothing was shared"
    assert {int(pid) for pid in ran_by} <= {p.pid for p in workers.processes}


def test_a_killed_process_s_run_fails_with_a_message_and_frees_its_slot(
    setup: t.Any, redis_url: str
) -> None:
    engine, (client, prefix, found), workers = setup(1, lease=1.0)
    rec = Recorder(engine, "p", "q")
    job = engine.submit(found["hang"], "p", ["hung"]).job_id
    assert eventually(lambda: client.get(prefix + "ran:hung") is not None, LIMIT)
    assert int(client.get(prefix + "ran:hung")) == workers.processes[0].pid
    workers.processes[0].kill()  # kill -9: nothing of it runs again
    workers.processes[0].wait(LIMIT)
    assert rec.wait_for(lambda _: bool(rec.of(job, "failed")), LIMIT)
    failed = rec.terminal(job)
    assert failed["error"] == LAPSED["error"] and failed["visible"] is True
    # The listener's one slot came back: a new process starts its next job.
    later = engine.submit(found["hang"], "q", ["later"]).job_id
    more = Workers(redis_url, prefix, 1, 1.0)
    workers.processes += more.processes
    rec.wait_type(later, "started")


def test_a_frozen_process_s_late_result_is_refused(setup: t.Any) -> None:
    """SIGSTOP past the lease (a VM paused, a swap storm): another process fails the run and
    frees its slot; when the frozen process goes on, its result is refused by the fence."""
    engine, (client, prefix, found), workers = setup(1, lease=1.0)
    rec = Recorder(engine, "p")
    job = engine.submit(found["nap"], "p", ["nap"]).job_id
    assert eventually(lambda: client.get(prefix + "ran:nap") is not None, LIMIT)
    worker = workers.processes[0]
    os.kill(worker.pid, signal.SIGSTOP)
    try:
        assert rec.wait_for(lambda _: bool(rec.of(job, "failed")), LIMIT)
    finally:
        os.kill(worker.pid, signal.SIGCONT)
    # Its handler wakes and returns "woke nap"; the page must never see it.
    assert not rec.wait_for(lambda _: bool(rec.of(job, "done")), 3.0)
    assert [m["type"] for m in rec.of(job)][-1] == "failed"


def test_a_redis_restarted_without_its_data_gets_the_listeners_again(tmp_path: Path) -> None:
    """A redis-server without persistence forgets every registration when it restarts: the
    next click registers its listener again, and a process that submits nothing registers
    its own again within a second, so handlers keep running instead of waiting forever."""
    from .redis_server import RedisServer
    from .test_queue_support import Comp

    server = RedisServer(tmp_path / "redis", persistent=False)
    submitter = EventEngine(backend=RedisBackend(connect(server.url), "r:", run_handlers=False))
    worker = EventEngine(backend=RedisBackend(connect(server.url), "r:"))
    try:
        listener = Comp().select(lambda x: x * 2, inputs="x", trigger_mode="multiple")
        worker.register(listener)
        rec = Recorder(submitter, "p")
        assert rec.terminal(submitter.submit(listener, "p", [1]).job_id)["value"] == 2
        connect(server.url).set("r:test-sentinel", 1)  # nobody writes it again
        server.stop()
        server.start()
        # Forgotten: the sentinel proves it (the listener's own key may already be registered
        # again by the worker, which is what this test is about).
        assert not connect(server.url).exists("r:test-sentinel")
        job = submitter.submit(listener, "p", [21]).job_id
        # Both engines find Redis again by themselves (their reconnect loops back off while it
        # was away): on a loaded machine that takes more than the usual wait.
        assert rec.terminal(job, timeout=30)["value"] == 42
    finally:
        for engine in (submitter, worker):
            engine.shutdown()
        server.stop()


def test_a_claim_in_a_submission_whose_reply_was_lost_runs_and_frees_its_slot(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis took a submission and claimed its run for this process, and the reply was lost
    (a fault no real server lets a test cause on cue, so the loss is simulated). The click
    was refused, but the run claimed in Redis is found and run here within a moment, instead
    of holding its group's only slot until its 30 s lease lapses."""
    import redis as client

    from .test_queue_support import Comp

    engine = EventEngine(backend=RedisBackend(connect(redis_url), "lost:", lease=30.0))
    try:
        listener = Comp().select(
            lambda x: x, inputs="x", trigger_mode="multiple", concurrency_limit=1
        )
        engine.register(listener)
        rec = Recorder(engine, "p")
        real = RedisBackend._registered

        def lost(self: RedisBackend, *args: t.Any) -> t.Any:
            real(self, *args)  # made, and claimed for this process...
            raise client.exceptions.ConnectionError("Connection closed by server.")  # ...unsaid

        monkeypatch.setattr(RedisBackend, "_registered", lost)
        with pytest.raises(client.exceptions.ConnectionError):
            engine.submit(listener, "p", [1])
        monkeypatch.setattr(RedisBackend, "_registered", real)
        second = engine.submit(listener, "p", [2]).job_id
        assert rec.terminal(second)["value"] == 2  # within the Recorder's wait, not 30 s
    finally:
        engine.shutdown()
