"""The default backend: queues and worker threads inside the web process.

One lock guards all scheduling state, and every message whose order matters (estimation, started,
done...) is recorded in the page channel while it is held, then delivered after it is released,
so subscribers see a job's messages in the order its state changed and never run under the lock.
Workers start on demand up to ``max_threads`` and each takes the oldest runnable job of any
concurrency group that is below its limit, so one busy group never holds up another.

The first :data:`EAGER_WORKERS` start the moment a job finds no idle worker. Past them, a worker
starts only when the queue has stood still for :data:`STALL_DELAY` with every worker inside a
run. Workers that keep taking jobs, or that wait between runs for the GIL or this lock, are
short of CPU, not of threads (under the GIL a new thread only adds memory and contention),
while workers that sit in their runs and take nothing are blocked in their handlers (I/O,
sleeps, waits), which is what more threads are for.

A submission joins only within its fair share of the queue (:mod:`.quotas`). A run with a
timeout has a timer; when it lapses before the run ends, the run's submissions fail at once, its
concurrency slot is freed for the next submission, and its thread leaves the pool: it takes no
other job, counts in :attr:`ThreadsBackend.stuck_threads` until its function returns, then
exits. Stuck threads count against ``max_threads``, so no number of timeouts can grow the
threads beyond it, and a concurrency group whose timed-out runs hold half of ``max_threads``
starts no more runs until one returns: one hung handler never takes every thread from the rest.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
import typing as t
from collections import deque

from ..events import Listener
from .aio import Interrupt, close_thread_loop
from .backend import EngineConfig, ended
from .channel import PageChannels
from .channel_backend import ChannelBackend
from .estimate import RunTimes, estimations
from .jobs import Job, message
from .messages import Message, Terminal
from .quotas import Quotas
from .runner import Outcome, Runner
from .timers import Scheduler, TimerHandle

_log = logging.getLogger("flask_gallery.queue")

#: Prefix of every thread this backend starts (tests look for leftovers by it).
THREAD_PREFIX = "flask_gallery-"

#: Workers started at once when a job finds none idle (fewer if ``max_threads`` is lower): one
#: per core, as many as can run handlers that release the GIL (numpy, Pillow) side by side.
EAGER_WORKERS = os.cpu_count() or 1

#: Seconds runnable jobs wait without any worker taking a job before more workers start.
STALL_DELAY = 0.01


def timed_out(listener: Listener, timeout: float) -> dict[str, t.Any]:
    """The fields of the ``failed`` message of a run that outlived its timeout."""
    return {
        "error": f"{listener.name} took longer than its timeout of {timeout:g} s and was stopped.",
        "title": "Timeout",
        "duration": 10,
        "visible": True,
        "traceback": None,
    }


def log_timeout(listener: Listener, timeout: float, stuck: int, max_threads: int) -> None:
    _log.warning(
        "Handler %s (%s) took longer than its timeout of %g s: its submissions failed and"
        " its thread left the worker pool until the handler returns (%d stuck of"
        " max_threads=%d).",
        listener.name,
        listener.id,
        timeout,
        stuck,
        max_threads,
    )


class _Group:
    """A concurrency group: one FIFO queue and one limit shared by its listeners."""

    __slots__ = ("key", "limit", "queue", "running", "stuck")

    def __init__(self, key: str, limit: int | None) -> None:
        self.key = key
        self.limit = limit
        self.queue: deque[Job] = deque()
        #: Running runs (a batch is one run), by first job id: (listener id, start time).
        self.running: dict[str, tuple[str, float]] = {}
        #: Timed-out runs whose function has not returned yet.
        self.stuck = 0

    def room(self, stuck_cap: int) -> int:
        """Runs the group may start now (``len(queue)`` standing for no limit)."""
        if self.stuck >= stuck_cap:
            return 0
        if self.limit is None:
            return len(self.queue)
        return self.limit - len(self.running)


class _Run:
    """What a worker runs at once: one submission, or a batch of one listener's."""

    __slots__ = ("group", "interrupt", "jobs", "started", "thread", "timed_out", "timeout", "timer")

    def __init__(
        self, jobs: list[Job], group: _Group | None, timeout: float | None, started: float
    ) -> None:
        self.jobs = jobs
        self.group = group
        self.timeout = timeout
        self.started = started
        #: The worker that took it (runs are taken by the thread that runs them).
        self.thread = threading.current_thread()
        self.interrupt = Interrupt()
        self.timer: TimerHandle | None = None
        self.timed_out = False


class _KeyState:
    """Trigger-mode state of one (page, listener): its live jobs and the always_last pending one."""

    __slots__ = ("active", "deferred")

    def __init__(self) -> None:
        self.active: list[Job] = []
        self.deferred: Job | None = None


class ThreadsBackend(ChannelBackend[PageChannels]):
    def start(self, config: EngineConfig) -> None:
        self._scheduler = Scheduler(THREAD_PREFIX + "timers")
        self._begin(config, self._scheduler)
        self._clock = config.clock
        self._cond = threading.Condition()
        self._channels = PageChannels(
            replay_size=config.replay_size, replay_ttl=config.replay_ttl, clock=config.clock
        )
        self._runner = Runner(self, config)
        self._groups: dict[str, _Group] = {}
        self._group_of: dict[str, _Group] = {}
        self._ready: set[_Group] = set()
        self._keys: dict[str, dict[str, _KeyState]] = {}
        self._immediate: deque[Job] = deque()
        self._quotas = Quotas(
            total=config.max_queue_size,
            per_page=config.max_queued_per_page,
            per_session=config.max_queued_per_session,
        )
        self._seq = itertools.count(1)
        self._times = RunTimes()
        #: The worker pool; a thread whose run timed out leaves it for ``_stuck``.
        self._threads: list[threading.Thread] = []
        self._stuck: dict[threading.Thread, _Run] = {}
        #: Threads of timed-out runs that returned and are exiting (shutdown joins them too).
        self._leaving: list[threading.Thread] = []
        self._stuck_cap = max(1, config.max_threads // 2)
        #: Every run whose function is executing (timed-out ones included), by first job id.
        self._runs: dict[str, _Run] = {}
        self._names = itertools.count()
        self._idle = 0
        #: Pool workers inside ``Runner.run`` (their idents): set.add and discard are atomic, so
        #: workers mark themselves without the lock.
        self._in_runs: set[int] = set()
        #: Runs taken by workers so far, and the pending check that the queue is moving.
        self._taken = 0
        self._stall_check: TimerHandle | None = None
        self._closing = False
        self._stopping = False
        self._undelivered: set[str] = set()
        #: Per group: when its queue's estimations were last all sent, and a pending resend.
        self._estimated_at: dict[str, float] = {}
        self._estimate_timers: dict[str, TimerHandle] = {}

    # -- registration -----------------------------------------------------------------------

    def register(self, listener: Listener) -> None:
        with self._cond:
            self._register_locked(listener)

    def _register_locked(self, listener: Listener) -> _Group:
        group = self._group_of.get(listener.id)
        if group is not None:
            return group
        limit = listener.concurrency_limit
        if limit == "default":
            limit = self._config.default_concurrency_limit
        key = listener.concurrency_id or listener.id
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(key, limit)
        elif limit is not None and (group.limit is None or limit < group.limit):
            group.limit = limit  # a shared group takes the lowest limit of its listeners
        self._group_of[listener.id] = group
        return group

    # -- submitting and cancelling ----------------------------------------------------------

    def submit(self, job: Job) -> str | None:
        with self._cond:
            reason = self._submit_locked(job)
        self._deliver()
        return reason

    def _submit_locked(self, job: Job) -> str | None:
        if self._closing:
            return self._reject_locked(job, "shutdown", "The server is shutting down.")
        listener = job.listener
        group = self._register_locked(listener)
        keys = self._keys.get(job.page)
        state = keys.get(listener.id) if keys else None
        busy = state is not None and (bool(state.active) or state.deferred is not None)
        mode = job.mode
        if busy and mode == "once":
            return self._reject_locked(
                job,
                "once",
                f"{listener.name!r} is still queued or running for this page and its"
                " trigger_mode is 'once', so this submission was dropped. Wait for it to finish,"
                " or register the listener with trigger_mode='multiple' or 'always_last'.",
            )
        if busy and mode == "always_last":
            assert state is not None
            queued = next((j for j in state.active if j.state == "queued"), None)
            pending = state.deferred or queued
            if pending is not None:
                self._supersede_locked(state, pending, job, group)
                return None
        refused = self._admit_locked(job)
        if refused is not None:
            return refused
        # Looked up again: making room may have dropped another client's job of this key.
        state = self._keys.setdefault(job.page, {}).setdefault(listener.id, _KeyState())
        if busy and mode == "always_last":
            state.deferred = job
            job.state = "deferred"
            self._quotas.add(job)
            return None
        self._enqueue_locked(job, group, state)
        return None

    def _admit_locked(self, job: Job) -> str | None:
        """Whether ``job`` may wait: its page's and session's caps, then the global bound, where
        a client holding fewer takes the place of the newest of the client holding the most."""
        quotas = self._quotas
        refused = quotas.refusal(job)
        if refused is not None:
            return self._reject_locked(job, "queue_full", refused)
        if quotas.full():
            victim = quotas.victim(job)
            if victim is None:
                return self._reject_full_locked(job)
            self._evict_locked(victim)
        return None

    def _evict_locked(self, job: Job) -> None:
        """Drop a waiting ``job`` to make room for another client's."""
        state = self._keys[job.page][job.listener.id]
        if state.deferred is job:
            state.deferred = None
        else:
            state.active.remove(job)
            group = self._unqueue_locked(job)
            if group is not None:
                self._reestimate_locked(group)
        job.state = "finished"
        self._finish_locked(
            job,
            "rejected",
            code="queue_full",
            reason="queue full: this submission was dropped to make room for other users'; the"
            " address it came from had the most waiting. Try again in a moment.",
        )
        self._forget_key_if_idle(job)

    def _unqueue_locked(self, job: Job) -> _Group | None:
        """Take a queued ``job`` out of its queue; its group, whose ranks then changed."""
        if not job.listener.queue:
            self._immediate.remove(job)
            return None
        group = self._group_of[job.listener.id]
        group.queue.remove(job)
        if not group.queue:
            self._ready.discard(group)
        return group

    def _supersede_locked(self, state: _KeyState, old: Job, new: Job, group: _Group) -> None:
        """always_last: ``new`` takes the place of the pending ``old`` (queue position included)."""
        if old is state.deferred:
            state.deferred = new
            new.state = "deferred"
        else:
            queue = group.queue if old.listener.queue else self._immediate
            queue[queue.index(old)] = new
            new.state = "queued"
            new.seq = old.seq
            new.enqueued_at = old.enqueued_at
            state.active[state.active.index(old)] = new
        old.state = "finished"
        self._finish_locked(old, "cancelled", reason="superseded by a newer submission")
        self._quotas.add(new)
        if new.state == "queued" and new.listener.queue:
            self._estimate_locked(group, only=new)

    def _reject_full_locked(self, job: Job) -> str:
        return self._reject_locked(
            job,
            "queue_full",
            f"queue full: {self._quotas.count} submissions are waiting"
            f" (max_queue_size={self._quotas.total}). Try again in a moment.",
        )

    def _reject_locked(self, job: Job, code: str, reason: str) -> str:
        self._finish_locked(job, "rejected", code=code, reason=reason)
        self._forget_key_if_idle(job)
        return reason

    def _enqueue_locked(self, job: Job, group: _Group, state: _KeyState) -> None:
        job.seq = next(self._seq)
        job.enqueued_at = self._clock()
        job.state = "queued"
        state.active.append(job)
        self._quotas.add(job)
        if not job.listener.queue:
            self._immediate.append(job)
            self._wake_locked()
            return
        group.queue.append(job)
        self._ready.add(group)
        self._estimate_locked(group, only=job)
        if group.limit is None or len(group.running) + len(group.queue) <= group.limit:
            self._wake_locked()

    def cancel(self, page: str, listener_ids: t.Collection[str] | None, reason: str) -> int:
        with self._cond:
            count = self._cancel_locked(page, listener_ids, reason)
        self._deliver()
        return count

    def _cancel_locked(self, page: str, listener_ids: t.Collection[str] | None, reason: str) -> int:
        keys = self._keys.get(page)
        if not keys:
            return 0
        ids = list(keys) if listener_ids is None else [i for i in listener_ids if i in keys]
        touched: set[_Group] = set()
        count = 0
        for listener_id in ids:
            state = keys.pop(listener_id)
            if state.deferred is not None:
                state.deferred.state = "finished"
                self._finish_locked(state.deferred, "cancelled", reason=reason)
                count += 1
            for job in state.active:
                if job.state == "queued":
                    group = self._unqueue_locked(job)
                    if group is not None:
                        touched.add(group)
                    job.state = "finished"
                else:
                    job.cancelled = True  # the worker sees it at the next yield
                self._finish_locked(job, "cancelled", reason=reason)
                count += 1
        if not keys:
            del self._keys[page]
        for group in touched:
            self._reestimate_locked(group)
        return count

    def is_active(self, page: str, listener_id: str) -> bool:
        with self._cond:
            state = self._keys.get(page, {}).get(listener_id)
            return state is not None and (bool(state.active) or state.deferred is not None)

    # -- workers ----------------------------------------------------------------------------

    def _wake_locked(self) -> None:
        if self._idle > 0:
            self._idle -= 1
            self._cond.notify()
        elif len(self._threads) < min(EAGER_WORKERS, self._max_pool_locked()):
            self._spawn_locked()
        elif len(self._threads) < self._max_pool_locked() and self._stall_check is None:
            self._arm_stall_check_locked()

    def _max_pool_locked(self) -> int:
        """Workers the pool may have: stuck threads count against ``max_threads``."""
        return self._config.max_threads - len(self._stuck)

    def _spawn_locked(self) -> None:
        if self._stopping:
            return  # shutdown joins the threads it saw; a later one would outlive it
        thread = threading.Thread(
            target=self._work, name=f"{THREAD_PREFIX}worker-{next(self._names)}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _arm_stall_check_locked(self) -> None:
        taken = self._taken
        self._stall_check = self._scheduler.call_later(
            STALL_DELAY, lambda: self._check_stall(taken)
        )

    def _check_stall(self, taken: int) -> None:
        """Start a worker per waiting job when none was taken since the check was armed."""
        with self._cond:
            self._stall_check = None
            waiting = self._runnable_locked()
            if self._stopping or waiting == 0:
                return
            in_runs = all(thread.ident in self._in_runs for thread in self._threads)
            if self._taken != taken or not in_runs:
                # The queue moves, or a worker is between runs (waking, waiting for this lock
                # or the GIL): the pool is short of CPU, not of threads. Look again later.
                self._arm_stall_check_locked()
                return
            for _ in range(min(waiting, self._max_pool_locked() - len(self._threads))):
                self._spawn_locked()

    def _runnable_locked(self) -> int:
        """Jobs a worker could take now (a batch counts once per job: an upper bound)."""
        count = len(self._immediate)
        for group in self._ready:
            count += min(len(group.queue), max(group.room(self._stuck_cap), 0))
        return count

    def _work(self) -> None:
        try:
            while True:
                with self._cond:
                    run = self._take_locked()
                    while run is None:
                        if self._stopping:
                            return
                        self._idle += 1
                        self._cond.wait()
                        run = self._take_locked()
                self._deliver()
                me = threading.get_ident()
                self._in_runs.add(me)
                try:
                    outcomes = self._runner.run(run.jobs, run.interrupt)
                finally:
                    self._in_runs.discard(me)
                if not self._complete(run, outcomes):
                    return  # it timed out: this thread left the pool
                ended(self._config, run.jobs, [outcome.type for outcome in outcomes])
        finally:
            close_thread_loop()

    def _take_locked(self) -> _Run | None:
        now = self._clock()
        if self._immediate:
            job = self._immediate.popleft()
            self._start_locked([job], now)
            self._taken += 1
            return self._track_locked([job], None, now)
        best: _Group | None = None
        for group in self._ready:
            if group.room(self._stuck_cap) > 0 and (
                best is None or group.queue[0].seq < best.queue[0].seq
            ):
                best = group
        if best is None:
            return None
        head = best.queue.popleft()
        batch = [head]
        listener = head.listener
        if listener.batch and best.queue:
            rest: deque[Job] = deque()
            for job in best.queue:
                if job.listener is listener and len(batch) < listener.max_batch_size:
                    batch.append(job)
                else:
                    rest.append(job)
            best.queue = rest
        if not best.queue:
            self._ready.discard(best)
        best.running[head.id] = (listener.id, now)
        self._start_locked(batch, now)
        self._taken += 1
        if best.queue:
            self._reestimate_locked(best)
        return self._track_locked(batch, best, now)

    def _track_locked(self, batch: list[Job], group: _Group | None, now: float) -> _Run:
        """Record a run as executing, with its timeout's timer when it has one."""
        timeout = batch[0].listener.timeout
        if timeout == "default":
            timeout = self._config.handler_timeout
        run = _Run(batch, group, timeout, now)
        self._runs[batch[0].id] = run
        if timeout is not None:
            run.timer = self._scheduler.call_later(timeout, lambda: self._time_out(run))
        return run

    def _start_locked(self, batch: list[Job], now: float) -> None:
        eta = self._times.average(batch[0].listener.id)
        for job in batch:
            job.state = "running"
            job.started_at = now
            self._quotas.remove(job)
            self._post_locked(job, message("started", job, eta=eta, batch=len(batch)))

    def _complete(self, run: _Run, outcomes: list[Outcome]) -> bool:
        """End a run whose function returned; False when it had timed out (its thread then
        leaves: it was replaced in the pool, and is never silently reused)."""
        batch = run.jobs
        head = batch[0]
        with self._cond:
            del self._runs[head.id]
            if run.timer is not None:
                run.timer.cancel()
            if run.timed_out:
                del self._stuck[run.thread]
                self._leaving = [th for th in self._leaving if th.is_alive()]
                self._leaving.append(run.thread)
                if run.group is not None:
                    run.group.stuck -= 1
                if self._runnable_locked():
                    self._wake_locked()  # room for a worker again
            else:
                if run.group is not None:
                    run.group.running.pop(head.id, None)
                if all(o.type == "done" for o in outcomes):
                    self._times.add(head.listener.id, self._clock() - run.started)
                for job, outcome in zip(batch, outcomes, strict=True):
                    job.state = "finished"
                    self._finish_locked(job, outcome.type, **outcome.fields)
                    self._release_key_locked(job)
        if run.timed_out:
            _log.info(
                "Handler %s (%s) returned %.1f s after its timeout; its late result was dropped"
                " and its thread exits.",
                head.listener.name,
                head.listener.id,
                self._clock() - run.started - (run.timeout or 0.0),
            )
        self._deliver()
        return not run.timed_out

    def _time_out(self, run: _Run) -> None:
        """The run's timeout lapsed: fail its submissions, free its slot, and take its thread
        out of the pool (see the module doc)."""
        head = run.jobs[0]
        listener = head.listener
        with self._cond:
            if run.timed_out or self._runs.get(head.id) is not run:
                return  # it ended meanwhile
            run.timed_out = True
            for job in run.jobs:
                job.cancelled = True  # a generator stops at its next yield, outputs are dropped
                job.state = "finished"
                self._finish_locked(job, "failed", **timed_out(listener, run.timeout or 0.0))
                self._release_key_locked(job)
            if run.group is not None:
                run.group.running.pop(head.id, None)
                run.group.stuck += 1
                if run.group.queue:
                    self._reestimate_locked(run.group)
            if run.thread in self._threads:
                self._threads.remove(run.thread)
            self._stuck[run.thread] = run
            stuck = len(self._stuck)
            if self._runnable_locked():
                self._wake_locked()
        run.interrupt.request()  # an awaited coroutine is cancelled now
        log_timeout(listener, run.timeout or 0.0, stuck, self._config.max_threads)
        ended(self._config, run.jobs, ["failed"] * len(run.jobs))
        self._deliver()

    def _release_key_locked(self, job: Job) -> None:
        keys = self._keys.get(job.page)
        state = keys.get(job.listener.id) if keys else None
        if state is None or job not in state.active:
            return  # cancelled earlier: its key state went with it
        state.active.remove(job)
        if not state.active and state.deferred is not None:
            deferred, state.deferred = state.deferred, None
            self._enqueue_locked(deferred, self._group_of[deferred.listener.id], state)
        self._forget_key_if_idle(job)

    def _forget_key_if_idle(self, job: Job) -> None:
        keys = self._keys.get(job.page)
        state = keys.get(job.listener.id) if keys else None
        if keys is not None and state is not None and not state.active and state.deferred is None:
            del keys[job.listener.id]
            if not keys:
                del self._keys[job.page]

    # -- messages ---------------------------------------------------------------------------

    def _reestimate_locked(self, group: _Group) -> None:
        """Every rank in ``group`` changed: send new estimations now, or when the interval since
        the last round has passed. Each round costs a message per queued job, so a long queue
        draining fast would otherwise cost quadratic time; a deferred round reads the queue as
        it is then, so no job gets a position after it started."""
        if group.key in self._estimate_timers:
            return
        now = self._clock()
        wait = self._config.progress_interval - (now - self._estimated_at.get(group.key, -1e18))
        if wait <= 0:
            self._estimated_at[group.key] = now
            self._estimate_locked(group)
        else:
            self._estimate_timers[group.key] = self._scheduler.call_later(
                wait, lambda: self._flush_estimates(group)
            )

    def _flush_estimates(self, group: _Group) -> None:
        with self._cond:
            self._estimate_timers.pop(group.key, None)
            self._estimated_at[group.key] = self._clock()
            self._estimate_locked(group)
        self._deliver()

    def _estimate_locked(self, group: _Group, only: Job | None = None) -> None:
        rows = estimations(
            group.queue,
            group.running.values(),
            len(group.running),
            group.limit,
            self._times,
            self._clock(),
        )
        size = len(group.queue)
        for job, rank, eta in rows:
            if only is None or job is only:
                self._post_locked(
                    job, message("estimation", job, rank=rank, queue_size=size, eta=eta)
                )

    def _post_locked(self, job: Job, msg: Message) -> None:
        with job.lock:
            if job.terminal is not None:
                return
            self._channels.append(job.page, msg)
        self._undelivered.add(job.page)

    def _finish_locked(self, job: Job, terminal: Terminal, **fields: t.Any) -> bool:
        """Send ``job``'s one terminal message; False when it already had one."""
        self._quotas.remove(job)
        with job.lock:
            if job.terminal is not None:
                return False
            job.terminal = terminal
            self._channels.append(job.page, message(terminal, job, **fields))
        self._undelivered.add(job.page)
        self._throttle.forget(job)
        return True

    def _deliver(self) -> None:
        with self._cond:
            if not self._undelivered:
                return
            pages, self._undelivered = self._undelivered, set()
        for page in pages:
            self._channels.deliver(page)

    # Sink, for the runner: messages sent from the handler's thread while it runs.

    def emit(self, job: Job, msg: Message) -> None:
        with job.lock:
            if job.terminal is not None:
                return
            self._channels.append(job.page, msg)
        self._channels.deliver(job.page)

    # -- inspection -------------------------------------------------------------------------

    def jobs(self) -> list[Job]:
        with self._cond:
            found: dict[Job, None] = {}
            for keys in self._keys.values():
                for state in keys.values():
                    found.update(dict.fromkeys(state.active))
                    if state.deferred is not None:
                        found[state.deferred] = None
            for run in self._runs.values():  # cancelled or timed out, yet still executing
                found.update(dict.fromkeys(run.jobs))
            return list(found)

    @property
    def stuck_threads(self) -> int:
        with self._cond:
            return len(self._stuck)

    # -- shutdown ---------------------------------------------------------------------------

    def shutdown(self, *, drain: bool, timeout: float | None) -> None:
        with self._cond:
            if self._stopping:
                return
            self._closing = True
            if not drain:
                for page in list(self._keys):
                    self._cancel_locked(page, None, "shutdown")
            self._stopping = True
            self._idle = 0
            self._cond.notify_all()
            threads = [*self._threads, *self._stuck, *self._leaving]
            stuck = dict(self._stuck)
        self._deliver()
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        self._scheduler.close(timeout)
        alive = [
            thread.name
            + (f" (stuck in {stuck[thread].jobs[0].listener.name})" if thread in stuck else "")
            for thread in threads
            if thread.is_alive()
        ]
        if alive:
            _log.warning("flask_gallery: worker threads still running after shutdown: %s", alive)
