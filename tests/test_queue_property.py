"""Random sequences of submit / cancel / finish across listeners, pages and concurrency groups.

After every step the test waits until the engine has started all it may start, so the sequence
is deterministic; then it checks that no group ever ran more handlers than its limit, that no
submission was lost or run twice, and that each ended in exactly one terminal message.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import typing as t
import warnings

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from flask_gallery.events import Listener, TriggerMode

from .test_queue_support import (
    TERMINAL,
    WAIT,
    Comp,
    Recorder,
    both_backends,  # noqa: F401
    eventually,
    running_engine,
)

# Hypothesis' pytest plugin imports this module (and through it libcst, which warns on import)
# only to report a failure; warnings are errors here, so a failure would show as INTERNALERROR.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    with contextlib.suppress(ImportError):
        import hypothesis.extra._patching  # noqa: F401

#: (trigger mode, concurrency group, the group's limit)
LISTENERS: list[tuple[TriggerMode, str, int]] = [
    ("multiple", "A", 1),
    ("once", "A", 1),
    ("multiple", "B", 2),
    ("always_last", "B", 2),
]
PAGES = ["p0", "p1"]
LIMITS = {"A": 1, "B": 2}


class Tracker:
    """What the handlers did, seen from inside them."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.running = dict.fromkeys(LIMITS, 0)
        self.peak = dict.fromkeys(LIMITS, 0)
        self.entered: list[int] = []
        self.exited: set[int] = set()
        self.gates: dict[int, threading.Event] = {}
        self.fail: set[int] = set()
        self.release_all = False

    def handler(self, group: str) -> t.Callable[[int], int]:
        def run(token: int) -> int:
            with self.cond:
                self.running[group] += 1
                self.peak[group] = max(self.peak[group], self.running[group])
                self.entered.append(token)
                gate = self.gates.setdefault(token, threading.Event())
                if self.release_all:
                    gate.set()
                self.cond.notify_all()
            try:
                assert gate.wait(WAIT), f"token {token} was never released"
                if token in self.fail:
                    raise RuntimeError(f"token {token} fails")
                return token
            finally:
                with self.cond:
                    self.running[group] -= 1
                    self.exited.add(token)
                    self.cond.notify_all()

        return run

    def holding(self) -> list[int]:
        with self.cond:
            return sorted(tok for tok in self.entered if tok not in self.exited)


class Run:
    def __init__(self, engine: t.Any, listeners: list[Listener], tracker: Tracker) -> None:
        self.engine = engine
        self.listeners = listeners
        self.tracker = tracker
        self.rec = Recorder(engine, *PAGES)
        self.tokens = itertools.count()
        #: token -> (job id, listener index, page)
        self.jobs: dict[int, tuple[str, int, str]] = {}

    def seen(self, job_id: str, *types: str) -> bool:
        return bool(self.rec.of(job_id, *types))

    def settled(self) -> bool:
        """No group has a free slot and a submission that could use it."""
        tracker = self.tracker
        with tracker.cond:
            exited = set(tracker.exited)
        occupied = dict.fromkeys(LIMITS, 0)
        pending = dict.fromkeys(LIMITS, 0)
        blocked_keys = set()
        for token, (job, index, page) in self.jobs.items():
            group = LISTENERS[index][1]
            if self.seen(job, "started") and token not in exited:
                occupied[group] += 1
            if self.seen(job, "started") and not self.seen(job, *TERMINAL):
                blocked_keys.add((index, page))
        for _token, (job, index, page) in self.jobs.items():
            if self.seen(job, "started") or self.seen(job, *TERMINAL):
                continue
            if LISTENERS[index][0] == "always_last" and (index, page) in blocked_keys:
                continue  # deferred until the running one ends
            pending[LISTENERS[index][1]] += 1
        return all(occupied[g] >= LIMITS[g] or pending[g] == 0 for g in LIMITS)

    def settle(self) -> None:
        assert self.rec.wait_for(lambda _: self.settled()), "the engine left runnable work idle"

    def submit(self, index: int, page: str) -> None:
        token = next(self.tokens)
        sub = self.engine.submit(self.listeners[index], page, [token])
        self.jobs[token] = (sub.job_id, index, page)
        self.settle()

    def cancel(self, index: int, page: str) -> None:
        self.engine.cancel(page, [self.listeners[index]])
        self.settle()

    def finish(self, pick: int, fail: bool) -> None:
        holding = self.tracker.holding()
        if not holding:
            return
        token = holding[pick % len(holding)]
        with self.tracker.cond:
            if fail:
                self.tracker.fail.add(token)
            self.tracker.gates[token].set()
            assert self.tracker.cond.wait_for(lambda: token in self.tracker.exited, WAIT)
        self.rec.wait_type(self.jobs[token][0], *TERMINAL)
        self.settle()

    def drain(self) -> None:
        with self.tracker.cond:
            self.tracker.release_all = True
            for gate in self.tracker.gates.values():
                gate.set()
        assert self.rec.wait_for(
            lambda _: all(self.seen(job, *TERMINAL) for job, _i, _p in self.jobs.values())
        )
        with self.tracker.cond:
            assert self.tracker.cond.wait_for(
                lambda: set(self.tracker.entered) <= self.tracker.exited, WAIT
            )


def _idle(backend: t.Any) -> bool:
    if not hasattr(backend, "_groups"):  # Redis: the same bookkeeping, in its keys
        redis, prefix = backend._client, backend._prefix
        running = [k for k in redis.scan_iter(f"{prefix}gr:*") if redis.zcard(k)]
        live = list(redis.scan_iter(f"{prefix}ka:*")) + list(redis.scan_iter(f"{prefix}kd:*"))
        return int(redis.get(f"{prefix}n") or 0) == 0 and not running + live and not backend._runs
    groups = backend._groups.values()
    return (
        backend._quotas.count == 0
        and not backend._keys
        and not backend._runs
        and not any(g.running for g in groups)
    )


operation = st.one_of(
    st.tuples(st.just("submit"), st.integers(0, len(LISTENERS) - 1), st.sampled_from(PAGES)),
    st.tuples(st.just("cancel"), st.integers(0, len(LISTENERS) - 1), st.sampled_from(PAGES)),
    st.tuples(st.just("finish"), st.integers(0, 7), st.booleans()),
)


# No "explain" phase: its code analysis imports modules that warn, and warnings are errors here.
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)
@given(st.lists(operation, max_size=24))
def test_random_sequences_keep_the_rules(ops: list[tuple[t.Any, ...]]) -> None:
    tracker = Tracker()
    with running_engine() as engine:
        g = Comp()
        listeners = [
            g.select(
                tracker.handler(group),
                inputs="token",
                trigger_mode=mode,
                concurrency_limit=limit,
                concurrency_id=group,
            )
            for mode, group, limit in LISTENERS
        ]
        engine.register(g)
        run = Run(engine, listeners, tracker)
        for op in ops:
            if op[0] == "submit":
                run.submit(op[1], op[2])
            elif op[0] == "cancel":
                run.cancel(op[1], op[2])
            else:
                run.finish(op[1], op[2])
        run.drain()
        # Nothing left behind in the bookkeeping (a drifting count would reject as "queue full").
        # A cancelled run's handler may have returned while its worker still holds the slot.
        assert eventually(lambda: _idle(engine.backend)), "bookkeeping left: slot or count"

    assert all(tracker.peak[g] <= LIMITS[g] for g in LIMITS), tracker.peak
    assert len(tracker.entered) == len(set(tracker.entered)), "a submission ran twice"
    for token, (job, _index, _page) in run.jobs.items():
        ends = run.rec.of(job, *TERMINAL)
        assert len(ends) == 1, (token, run.rec.types(job))
        end = ends[0]["type"]
        ran = token in tracker.entered
        if end == "done":
            assert ran and ends[0]["value"] == token
        elif end == "failed":
            assert ran and token in tracker.fail
        elif end == "rejected":
            assert not ran
        if ran:
            assert run.seen(job, "started")
