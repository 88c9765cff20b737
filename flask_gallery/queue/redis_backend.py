"""The engine's backend on Redis: several processes or hosts share one queue, every rule held.

Every decision that must hold across processes (trigger mode, fair shares, FIFO within a
concurrency group, the group's limit, batches, cancels, the end of a job) is one Lua script
(``lua/queue_*.lua``), so no rule depends on timing luck; the scripts also post the job's
messages to the page's channel (:mod:`.redis_channels`) in the same step, so a page sees a job's
messages in the order its state changed, whichever processes changed it.

Each process runs handlers with a dispatcher thread and worker threads (up to
``max_threads``): the dispatcher claims a run only when a worker is free, waiting on a Redis
list that every submission and every freed slot pushes a token to. A process with a free worker
also claims in the script of its own submission, so a click on an idle server costs no wake-up
and no second round trip. A run holds a lease of
``lease`` seconds, renewed while it runs; a process that dies (kill -9, OOM) stops renewing,
and any process then fails the run's jobs with a message to their pages and frees the slot.
Each claim gets a fencing token: the result of a run given up as dead is refused, so a job is
never run to completion by two processes while the first is alive.

Cancelling a run on another process: the cancel script marks its jobs; the process running
them reads the marks every :data:`POLL` seconds, and a generator stops at its next yield as in
one process.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import secrets
import socket
import threading
import time
import typing as t

import redis

from ..events import Listener
from .aio import Interrupt, close_thread_loop
from .backend import EngineConfig, ended
from .channel_backend import ChannelBackend
from .jobs import Job, message, unique_id
from .messages import Message
from .redis_channels import CURSOR_TTL_MS, RedisChannels
from .redis_client import script
from .redis_jobs import decode, encode
from .runner import Outcome, Runner
from .threads import THREAD_PREFIX, log_timeout, timed_out
from .timers import Scheduler, TimerHandle

_log = logging.getLogger("flask_gallery.queue")

#: Seconds between two rounds of lease renewals, cancel checks and reaping, at most.
POLL = 0.1
#: Seconds the dispatcher blocks on the wake list before it looks for work anyway.
IDLE_WAIT = 0.5
#: Submissions with a lost reply a process keeps asking about (beyond them, a run claimed in a
#: lost reply is failed when its lease lapses, as a dead process's would be).
UNANSWERED_KEPT = 1000
#: Seconds a process's set of known listeners outlives its last renewal (every second).
KNOWN_TTL = 86400
#: What a page sees when the process running its event died.
LAPSED = {
    "error": "The server process running this event stopped before it finished (it was "
    "restarted or ran out of memory). Try again.",
    "title": "Error",
    "duration": 10,
    "visible": True,
    "traceback": None,
}


class _Run:
    __slots__ = ("fence", "head", "interrupt", "jobs", "started", "timed_out", "timer")

    def __init__(self, head: str, fence: str, jobs: list[Job], started: float) -> None:
        self.head = head
        self.fence = fence
        self.jobs = jobs
        self.started = started
        self.interrupt = Interrupt()
        self.timer: TimerHandle | None = None
        #: Its timeout lapsed: its jobs failed and its slot is free; the thread is stuck
        #: (not reused) until the function returns.
        self.timed_out = False


class RedisBackend(ChannelBackend[RedisChannels]):
    """The :class:`.backend.Backend` for several processes; see the module doc.

    :param client: a client of the Redis every process shares.
    :param prefix: of every key this app's engine uses (several apps may share a Redis).
    :param lease: seconds a run's lease lasts without renewal (``GALLERY_JOB_LEASE_SECONDS``).
    :param run_handlers: False: this process submits and serves pages but runs no handler
        (``GALLERY_RUN_HANDLERS``); it still reaps the runs of processes that died.
    """

    def __init__(
        self, client: redis.Redis, prefix: str, *, lease: float = 30.0, run_handlers: bool = True
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._lease_ms = int(lease * 1000)
        self._run_handlers = run_handlers

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, config: EngineConfig) -> None:
        self._scheduler = Scheduler(THREAD_PREFIX + "redis-timers")
        self._begin(config, self._scheduler)
        #: Times compared across processes are wall-clock times (a test may pass its own clock).
        self._now = time.time if config.clock is time.monotonic else config.clock
        self._channels = RedisChannels(
            self._client,
            self._prefix,
            replay_size=config.replay_size,
            replay_ttl=config.replay_ttl,
        )
        self._scripts = {
            name: script(self._client, f"queue_{name}", "channel", "queue")
            for name in (
                "register",
                "submit",
                "claim",
                "complete",
                "cancel",
                "emit",
                "active",
                "renew",
                "reap",
                "estimate",
            )
        }
        self._worker_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._runner = Runner(self, config)
        self._listeners: dict[str, Listener] = {}
        #: Jobs submitted here and not ended: run here, they are the very objects submitted.
        self._local: dict[str, Job] = {}
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Condition()
        self._busy = 0
        #: Workers held for claims made with submissions (see :meth:`_reserve`).
        self._reserved = 0
        #: Arguments of submissions whose reply was lost (see :meth:`_settle_unanswered`).
        self._unanswered: list[list[t.Any]] = []
        self._idle = 0
        self._work: queue.SimpleQueue[_Run | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._names = 0
        self._stopping = threading.Event()
        self._draining = threading.Event()
        #: Claims nothing more (a worker stopping gracefully); what runs goes on.
        self._paused = threading.Event()
        self._dispatcher = self._thread(
            "dispatcher", self._dispatch if self._run_handlers else lambda: None
        )
        self._keeper = self._thread("leases", self._keep)

    def _thread(self, name: str, target: t.Callable[[], None]) -> threading.Thread:
        thread = threading.Thread(target=target, name=f"{THREAD_PREFIX}redis-{name}", daemon=True)
        thread.start()
        return thread

    def _args(self, *rest: t.Any) -> list[t.Any]:
        config = self._config
        return [
            self._prefix,
            repr(float(self._now())),
            config.replay_size,
            config.replay_ttl,
            CURSOR_TTL_MS,
            self._channels.me,
            *rest,
        ]

    def _call(self, name: str, *rest: t.Any) -> t.Any:
        return self._scripts[name](args=self._args(*rest))

    def _post(self, name: str, *rest: t.Any) -> None:
        """Call a script that answers {result, what it posted...}; this process's subscribers
        get what it posted (Redis publishes only to other processes)."""
        _, *posted = self._call(name, *rest)
        self._channels.hand_over(posted)

    # -- registration -----------------------------------------------------------------------

    def register(self, listener: Listener) -> None:
        self._listeners[listener.id] = listener
        limit = listener.concurrency_limit
        if limit == "default":
            limit = self._config.default_concurrency_limit
        self._call(
            "register",
            listener.id,
            listener.concurrency_id or listener.id,
            "" if limit is None else limit,
            "1" if listener.queue else "0",
            "1" if listener.batch else "0",
            listener.max_batch_size,
            listener.name,
            self._worker_id,
            self._config.progress_interval,
            KNOWN_TTL,
        )

    # -- submitting and cancelling ----------------------------------------------------------

    def submit(self, job: Job) -> str | None:
        if job.listener.id not in self._listeners:
            self.register(job.listener)
        config = self._config
        payload = encode(job)
        self._local[job.id] = job
        reserved = self._reserve()
        claim = self._claim_args(unique_id()) if reserved else ["", "", ""]
        fields = [
            job.id,
            job.listener.id,
            job.page,
            job.session or "",
            job.client or "",
            job.mode,
            payload,
            _bound(config.max_queue_size),
            _bound(config.max_queued_per_page),
            _bound(config.max_queued_per_session),
        ]
        try:
            outcome, reason, n, *rest = self._registered(
                job.listener, "submit", *fields, "", *claim
            )
            run = self._taken(rest, n)
            if run is not None:
                self._hand_over(run)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            with self._lock:
                if reserved:  # the reply may be lost with a run claimed for this process in it
                    self._unanswered.append([*fields, "1", *claim])
                    del self._unanswered[:-UNANSWERED_KEPT]
                else:  # if it was queued, whoever claims it reads it from Redis
                    self._local.pop(job.id, None)
            raise
        finally:
            if reserved:
                with self._lock:
                    self._reserved -= 1
                    self._lock.notify_all()
        if outcome == b"rejected":
            self._local.pop(job.id, None)
            job.state, job.terminal = "finished", "rejected"
            return _text(reason)
        with self._lock:  # a worker may have claimed it already
            if job.state == "new":
                job.state = "deferred" if outcome == b"deferred" else "queued"
        if outcome == b"superseded":
            self._local.pop(_text(reason), None)
        return None

    def _registered(self, listener: Listener, name: str, *rest: t.Any) -> t.Any:
        """Call a script about ``listener``, registering it again first if Redis forgot it
        (restarted without its data)."""
        try:
            return self._call(name, *rest)
        except redis.exceptions.ResponseError as exc:
            if "unregistered listener" not in str(exc):
                raise
            self.register(listener)
            return self._call(name, *rest)

    def _settle_unanswered(self) -> None:
        """Submissions whose reply Redis did not give (it went away): asked again, only to be
        answered (never made now: their click was refused), so that a run claimed for this
        process in a lost reply runs here instead of holding its group's slot until its
        lease lapses."""
        with self._lock:
            unanswered, self._unanswered = self._unanswered, []
        for n, args in enumerate(unanswered):
            try:
                _, _, count, *rest = self._call("submit", *args)
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                with self._lock:  # still away: asked again at the next round
                    self._unanswered[:0] = unanswered[n:]
                    del self._unanswered[:-UNANSWERED_KEPT]
                return
            run = self._taken(rest, count)
            if run is None or args[0] not in {job.id for job in run.jobs}:  # not run here now:
                with self._lock:  # whoever claims it reads it from Redis
                    self._local.pop(args[0], None)
            if run is not None:
                self._hand_over(run)

    def _keep_registrations(self) -> None:
        """Keep what this process knows registered in Redis: its set of listeners expires a day
        after it was last kept (a process that died leaves nothing behind for good), and a
        Redis restarted without its data has forgotten every registration."""
        if not self._client.expire(f"{self._prefix}known:{self._worker_id}", KNOWN_TTL):
            for listener in list(self._listeners.values()):
                self.register(listener)

    def cancel(self, page: str, listener_ids: t.Collection[str] | None, reason: str) -> int:
        if listener_ids is not None and not listener_ids:
            return 0  # none named (the script reads no names as all)
        count, n, *rest = self._call("cancel", page, reason, *(listener_ids or ()))
        for raw in rest[:n]:
            job = self._running_job(_text(raw))
            if job is not None:
                job.cancelled = True
        self._channels.hand_over(rest[n:])
        return int(count)

    def is_active(self, page: str, listener_id: str) -> bool:
        return bool(self._call("active", page, listener_id))

    # -- workers ----------------------------------------------------------------------------

    def _dispatch(self) -> None:
        """Claim a run whenever a worker is free; block on the wake list when there is none."""
        while not self._stopping.is_set():
            with self._lock:
                while not self._stopping.is_set() and (
                    self._busy + self._reserved >= self._config.max_threads
                ):
                    self._lock.wait(IDLE_WAIT)
            if self._stopping.is_set():
                return
            if self._paused.is_set():
                self._stopping.wait(IDLE_WAIT)
                continue
            try:
                # Looked at before the claim: a run ending between a claim that found nothing
                # and this look would free a slot the drain must still use.
                idle = self._idle_here()
                run = self._claim()
                if run is None:
                    if self._draining.is_set() and idle:
                        return
                    self._client.brpop([self._prefix + "wake"], timeout=IDLE_WAIT)
                    continue
            except Exception:  # Redis away for a moment: try again shortly
                _log.warning("flask_gallery: cannot claim work from Redis", exc_info=True)
                self._stopping.wait(IDLE_WAIT)
                continue
            self._hand_over(run)

    def _idle_here(self) -> bool:
        with self._lock:
            return not self._runs

    def _reserve(self) -> bool:
        """Hold a free worker for a claim made with a submission (False: none is free, or this
        process runs no handlers or is stopping)."""
        if not self._run_handlers or any(
            flag.is_set() for flag in (self._draining, self._stopping, self._paused)
        ):
            return False
        with self._lock:
            if self._busy + self._reserved >= self._config.max_threads:
                return False
            self._reserved += 1
            return True

    def _claim_args(self, token: str) -> list[t.Any]:
        """The claim scripts' arguments: lease, worker, ``token`` (a claim asked again with the
        same token gets the same run), and the groups not to take from here: those whose
        timed-out runs still hold half of max_threads here, so one hung handler never takes
        every thread from the rest."""
        cap = max(1, self._config.max_threads // 2)
        with self._lock:
            stuck: dict[str, int] = {}
            for run in self._runs.values():
                listener = run.jobs[0].listener
                if run.timed_out and listener.queue:
                    group = listener.concurrency_id or listener.id
                    stuck[group] = stuck.get(group, 0) + 1
        full = [group for group, count in stuck.items() if count >= cap]
        return [self._lease_ms, self._worker_id, token, *full]

    def _claim(self) -> _Run | None:
        args = self._claim_args(unique_id())
        pause = 0.05
        while True:
            try:
                taken = self._call("claim", *args)
                if not taken:
                    return None
                return self._taken(taken[1:], int(taken[0]))  # reads other processes' jobs
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                # The claim may have been made and its reply, or its jobs' data, lost: ask
                # again with the same token, which gets the same run.
                if self._stopping.wait(pause):
                    raise
                pause = min(pause * 2, 1.0)

    def _taken(self, reply: t.Sequence[bytes], n: int) -> _Run | None:
        """The end of a claiming script's reply: a run of ``n`` entries (none when ``n`` is 0),
        then what the script posted, which this process's subscribers get now."""
        self._channels.hand_over(reply[n:])
        return self._run(reply[:n]) if n else None

    def _run(self, taken: t.Sequence[bytes]) -> _Run:
        """A claimed run (head, fence, job ids) with its jobs."""
        head, fence, *ids = (_text(raw) for raw in taken)
        jobs = [self._job(job_id) for job_id in ids]
        return _Run(head, fence, jobs, self._now())

    def _job(self, job_id: str) -> Job:
        local = self._local.get(job_id)
        if local is not None:
            with self._lock:
                local.state = "running"
            return local
        fields = t.cast(
            "list[bytes]", self._client.hmget(f"{self._prefix}j:{job_id}", ["l", "p", "data"])
        )
        listener_id, page, data = (field.decode() for field in fields)
        job = decode(job_id, self._listeners[listener_id], page, data)
        job.state = "running"
        return job

    def _hand_over(self, run: _Run) -> None:
        timeout = run.jobs[0].listener.timeout
        if timeout == "default":
            timeout = self._config.handler_timeout
        with self._lock:
            self._busy += 1
            self._runs[run.head] = run
            if timeout is not None:
                run.timer = self._scheduler.call_later(
                    timeout, lambda: self._time_out(run, timeout)
                )
            if self._idle > 0:
                self._idle -= 1
            else:
                self._names += 1
                self._threads.append(self._thread(f"worker-{self._names}", self._serve))
        self._work.put(run)

    def _serve(self) -> None:
        try:
            while True:
                run = self._work.get()
                if run is None:
                    return
                outcomes = self._runner.run(run.jobs, run.interrupt)
                self._complete(run, outcomes)
                if not run.timed_out:
                    ended(self._config, run.jobs, [outcome.type for outcome in outcomes])
                with self._lock:
                    self._busy -= 1
                    self._lock.notify_all()
                    if run.timed_out:  # a thread that was stuck is never given another job
                        self._threads.remove(threading.current_thread())
                        return
                    self._idle += 1
        finally:
            close_thread_loop()

    def _time_out(self, run: _Run, timeout: float) -> None:
        """The run outlived its timeout: its jobs fail and its slot is freed at once (the
        fence changes, so its late result is refused); its thread stays busy until it returns."""
        listener = run.jobs[0].listener
        with self._lock:
            if run.head not in self._runs or run.timed_out:
                return
            run.timed_out = True
            for job in run.jobs:
                job.cancelled = True  # a generator stops at its next yield
            stuck = sum(1 for other in self._runs.values() if other.timed_out)
        outcome = Outcome("failed", timed_out(listener, timeout))
        self._record_end(run, [outcome] * len(run.jobs), done=False)
        run.interrupt.request()  # an awaited coroutine is cancelled now
        log_timeout(listener, timeout, stuck, self._config.max_threads)
        ended(self._config, run.jobs, ["failed"] * len(run.jobs))

    def _complete(self, run: _Run, outcomes: list[Outcome]) -> None:
        if run.timer is not None:
            run.timer.cancel()
        if run.timed_out:
            _log.info(
                "Handler %s (%s) returned %.1f s after its timeout; its late result was dropped.",
                run.jobs[0].listener.name,
                run.jobs[0].listener.id,
                self._now() - run.started,
            )
        else:
            done = all(outcome.type == "done" for outcome in outcomes)
            self._record_end(run, outcomes, done=done)
        with self._lock:
            self._runs.pop(run.head, None)
            for job, outcome in zip(run.jobs, outcomes, strict=True):
                job.state = "finished"
                job.terminal = job.terminal or outcome.type
                self._local.pop(job.id, None)
                self._throttle.forget(job)

    def _record_end(self, run: _Run, outcomes: list[Outcome], *, done: bool) -> None:
        """The run's end in Redis: its jobs' terminal messages, its slot, its run time."""
        seconds = self._now() - run.started
        parts: list[t.Any] = []
        for job, outcome in zip(run.jobs, outcomes, strict=True):
            body = message(outcome.type, job, **outcome.fields)
            parts += [job.id, outcome.type, json.dumps(body, separators=(",", ":"))]
        # Redis away for a moment (a restart): the result waits for it, within the lease (past
        # it, another process has failed the run and the fence refuses this result anyway).
        deadline = time.monotonic() + self._lease_ms / 1000
        pause = 0.05
        while True:
            try:
                kept, *posted = self._call(
                    "complete", run.head, run.fence, repr(seconds) if done else "", *parts
                )
                break
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                if time.monotonic() > deadline:
                    _log.exception("flask_gallery: could not record the end of a run in Redis")
                    return
                time.sleep(pause)
                pause = min(pause * 2, 1.0)
        self._channels.hand_over(posted)
        if not kept:
            _log.warning(
                "Handler %s finished after its run was given up as dead (lease lapsed): its "
                "result was dropped.",
                run.jobs[0].listener.name,
            )

    def _running_job(self, job_id: str) -> Job | None:
        with self._lock:
            for run in self._runs.values():
                for job in run.jobs:
                    if job.id == job_id:
                        return job
        return None

    def _keep(self) -> None:
        """Renew this process's leases, see other processes' cancels, reap lapsed runs."""
        renewed_at = reaped_at = 0.0
        while not self._stopping.wait(POLL):
            try:
                with self._lock:
                    runs = list(self._runs.values())
                if self._unanswered:
                    self._settle_unanswered()
                jobs = [job for run in runs for job in run.jobs if not job.cancelled]
                if jobs:
                    flags = self._client.pipeline(transaction=False)
                    for job in jobs:
                        flags.hget(f"{self._prefix}j:{job.id}", "cx")
                    for job, flag in zip(jobs, flags.execute(), strict=True):
                        if flag == b"1":
                            job.cancelled = True
                now = time.monotonic()
                if runs and now - renewed_at > self._lease_ms / 3000:
                    renewed_at = now
                    pairs = [x for run in runs for x in (run.head, run.fence)]
                    self._call("renew", self._lease_ms, *pairs)
                self._post("estimate")  # rounds of positions held back by their interval
                if now - reaped_at > min(1.0, self._lease_ms / 3000):
                    reaped_at = now
                    self._post("reap", json.dumps(LAPSED))
                    self._keep_registrations()
            except Exception:
                _log.warning("flask_gallery: lease upkeep in Redis failed", exc_info=True)

    # -- messages from running handlers -----------------------------------------------------

    def emit(self, job: Job, msg: Message) -> None:
        if job.terminal is None:
            self._post("emit", job.id, msg["type"], json.dumps(msg, separators=(",", ":")))

    # -- a graceful stop ---------------------------------------------------------------------

    def pause(self) -> None:
        """Claim nothing more; what runs here goes on (``flask gallery worker`` on SIGTERM),
        and what waits in the queue stays for the other processes."""
        self._paused.set()

    def running(self) -> int:
        """Runs in progress in this process."""
        with self._lock:
            return sum(1 for run in self._runs.values() if not run.timed_out)

    # -- inspection -------------------------------------------------------------------------

    def jobs(self) -> list[Job]:
        """This process's jobs: those submitted here and not ended, and those running here."""
        with self._lock:
            found = dict.fromkeys(self._local.values())
            for run in self._runs.values():
                found.update(dict.fromkeys(run.jobs))
            return list(found)

    @property
    def stuck_threads(self) -> int:
        with self._lock:
            return sum(1 for run in self._runs.values() if run.timed_out)

    def shutdown(self, *, drain: bool, timeout: float | None) -> None:
        """Stop claiming. ``drain``: first run what can be claimed until nothing is left.
        Otherwise this process's running jobs are cancelled (a generator stops at its next
        yield). What waits in the queue stays there for the other processes, or for this one
        when it starts again: nothing accepted is lost to a restart."""
        if self._stopping.is_set():
            return
        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        if drain:
            self._draining.set()
            self._client.lpush(self._prefix + "wake", "1")
            self._dispatcher.join(left())
        self._stopping.set()
        self._client.lpush(self._prefix + "wake", "1")  # unblock the dispatcher at once
        if not drain:
            with self._lock:
                running = [job for run in self._runs.values() for job in run.jobs]
            for job in running:
                job.cancelled = True
                self.emit(job, message("cancelled", job, reason="shutdown"))
        for thread in (self._dispatcher, self._keeper):
            thread.join(left())
        with self._lock:
            threads = list(self._threads)
        for _ in threads:
            self._work.put(None)
        for thread in threads:
            thread.join(left())
        self._scheduler.close(timeout)
        self._channels.close()
        self._client.delete(f"{self._prefix}known:{self._worker_id}")


def _text(raw: bytes | int) -> str:
    """A script's reply as text (Redis returns Lua numbers as ints)."""
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _bound(value: int | None) -> str | int:
    return "" if value is None else value
