"""The in-process backend's worker pool: when it starts threads. (The Redis backend claims jobs
its own way, so unlike the other engine tests these run on the in-process backend only.)"""

from __future__ import annotations

from flask_gallery.queue.threads import EAGER_WORKERS, ThreadsBackend

from .test_queue_support import Comp, Recorder, running_engine


def test_workers_kept_from_their_next_job_start_no_more() -> None:
    """On a busy machine a worker between two runs can wait longer than the stall delay for
    the GIL or the queue's lock, so the queue stands still with every worker willing: that is
    a want of CPU, and another thread would only add memory and contention. Here the test
    holds the queue's lock through the stall check, as a descheduled holder would."""
    with running_engine() as engine:
        backend = engine.backend
        assert isinstance(backend, ThreadsBackend)
        listener = Comp().select(
            lambda k: k, inputs="k", trigger_mode="multiple", concurrency_limit=None
        )
        rec = Recorder(engine, "p")
        with backend._cond:
            jobs = [engine.submit(listener, "p", [k]).job_id for k in range(20)]
            started = list(backend._threads)
            assert len(started) == min(EAGER_WORKERS, 40)  # they wait for this lock
            backend._check_stall(backend._taken)  # the queue stood still since the check
            assert backend._threads == started
        assert [rec.terminal(job)["type"] for job in jobs] == ["done"] * 20
