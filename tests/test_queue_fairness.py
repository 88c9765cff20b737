"""Fair shares of the queue: caps per page and per session, and no client holding it all."""

from __future__ import annotations

import typing as t

import pytest

from flask_gallery.events import Listener
from flask_gallery.queue import EventEngine

from .test_queue_support import (
    Comp,
    Gates,
    Recorder,
    both_backends,  # noqa: F401
    running_engine,
)


def _held(gates: Gates) -> t.Callable[[str], str]:
    """A handler that waits at its key's gate, then returns the key."""

    def handler(key: str) -> str:
        gates.hold(key)
        return key

    return handler


def _blocked(engine: EventEngine, gates: Gates) -> Listener:
    """A listener (concurrency limit 1) whose first run holds its slot until the gate
    ``"first"`` opens, so everything submitted to it meanwhile waits."""
    listener = Comp("held").select(_held(gates), inputs="k", trigger_mode="multiple")
    engine.submit(listener, "busy", ["first"])
    gates.wait_entered("first")
    return listener


def test_a_page_over_its_cap_gets_queue_full_and_other_pages_do_not() -> None:
    gates = Gates()
    with running_engine(max_queued_per_page=3) as engine:
        held = _blocked(engine, gates)
        rec = Recorder(engine, "p", "q")
        waiting = [engine.submit(held, "p", [k]) for k in "abc"]
        over = engine.submit(held, "p", ["d"])
        assert all(sub.accepted for sub in waiting)
        assert not over.accepted
        end = rec.terminal(over.job_id)
        assert (end["type"], end["code"]) == ("rejected", "queue_full")
        assert "this page already has 3 submissions waiting" in end["reason"]
        other = engine.submit(held, "q", ["e"])
        assert other.accepted
        assert [m for m in rec.messages if m["page"] == "q" and m["type"] == "rejected"] == []
        for key in ["first", *"abce"]:
            gates.open(key)
        for sub in [*waiting, other]:
            assert rec.terminal(sub.job_id)["type"] == "done"


def test_listeners_without_the_queue_count_towards_the_page_cap() -> None:
    gates = Gates()
    with running_engine(max_threads=1, max_queued_per_page=2) as engine:
        _blocked(engine, gates)  # the one worker is busy: queue=False jobs wait too
        direct = Comp("direct").select(
            _held(gates), inputs="k", queue=False, trigger_mode="multiple"
        )
        rec = Recorder(engine, "p")
        subs = [engine.submit(direct, "p", [k]) for k in "abc"]
        assert [sub.accepted for sub in subs] == [True, True, False]
        assert rec.terminal(subs[2].job_id)["code"] == "queue_full"
        for key in ["first", "a", "b"]:
            gates.open(key)
        for sub in subs[:2]:
            assert rec.terminal(sub.job_id)["type"] == "done"


def test_the_deferred_run_of_always_last_counts_and_a_newer_one_replaces_it() -> None:
    gates = Gates()
    with running_engine(max_queued_per_page=1) as engine:
        comp = Comp()
        latest = comp.change(_held(gates), inputs="k", trigger_mode="always_last")
        other = comp.select(_held(gates), inputs="k", trigger_mode="multiple", concurrency_id="x")
        rec = Recorder(engine, "p")
        running = engine.submit(latest, "p", ["run"])
        gates.wait_entered("run")
        deferred = engine.submit(latest, "p", ["d1"])
        newer = engine.submit(latest, "p", ["d2"])  # replaces d1: still one waiting
        assert deferred.accepted and newer.accepted
        assert rec.terminal(deferred.job_id)["reason"] == "superseded by a newer submission"
        blocked = engine.submit(other, "p", ["x"])  # the deferred one holds the page's place
        assert not blocked.accepted
        assert rec.terminal(blocked.job_id)["code"] == "queue_full"
        for key in ["run", "d2"]:
            gates.open(key)
        assert rec.terminal(running.job_id)["type"] == "done"
        assert rec.terminal(newer.job_id)["value"] == "d2"
        after = engine.submit(other, "p", ["y"])  # nothing waits any more
        gates.open("y")
        assert rec.terminal(after.job_id)["type"] == "done"


def test_a_session_is_capped_across_its_pages() -> None:
    gates = Gates()
    with running_engine(max_queued_per_session=4, max_queued_per_page=3) as engine:
        listener = _blocked(engine, gates)
        rec = Recorder(engine, "p1", "p2", "p3", "other")
        subs = [
            engine.submit(listener, page, [f"{page}{n}"], session="s")
            for page in ("p1", "p2")
            for n in range(2)
        ]
        over = engine.submit(listener, "p3", ["p3x"], session="s")
        assert all(sub.accepted for sub in subs)
        assert not over.accepted
        assert "your pages already have 4 submissions waiting" in (over.reason or "")
        assert rec.terminal(over.job_id)["page"] == "p3"
        another = engine.submit(listener, "other", ["o"], session="t")
        nobody = engine.submit(listener, "p3", ["n"])  # no session: only the page cap applies
        assert another.accepted and nobody.accepted
        for key in ["first", "p10", "p11", "p20", "p21", "o", "n"]:
            gates.open(key)
        for sub in [*subs, another, nobody]:
            assert rec.terminal(sub.job_id)["type"] == "done"


def test_closing_a_page_frees_its_places() -> None:
    gates = Gates()
    with running_engine(max_queued_per_page=2, max_queued_per_session=3) as engine:
        listener = _blocked(engine, gates)
        rec = Recorder(engine, "p", "q")
        first = [engine.submit(listener, "p", [k], session="s") for k in "ab"]
        assert not engine.submit(listener, "p", ["c"], session="s").accepted
        assert engine.close_page("p") == 2
        assert [rec.terminal(sub.job_id)["type"] for sub in first] == ["cancelled"] * 2
        again = [engine.submit(listener, "p", [k], session="s") for k in "de"]
        more = engine.submit(listener, "q", ["f"], session="s")  # the session's third
        assert all(sub.accepted for sub in [*again, more])
        for key in ["first", *"def"]:
            gates.open(key)
        for sub in [*again, more]:
            assert rec.terminal(sub.job_id)["type"] == "done"


def test_a_full_queue_admits_another_client_in_place_of_the_flooding_one() -> None:
    """A client dropping its cookie has a new session (and page) each time: only the share by
    address keeps it from holding the whole queue."""
    gates = Gates()
    with running_engine(max_queue_size=6, max_queued_per_page=20) as engine:
        listener = _blocked(engine, gates)
        flood_pages = [f"flood{n}" for n in range(8)]
        rec = Recorder(engine, *flood_pages, "user", "user2")
        flood = [
            engine.submit(listener, page, [page], session=page, client="10.0.0.66")
            for page in flood_pages
        ]
        assert [sub.accepted for sub in flood] == [True] * 6 + [False] * 2
        assert rec.terminal(flood[6].job_id)["reason"].startswith("queue full: 6 submissions")
        user = engine.submit(listener, "user", ["u"], session="u", client="10.0.0.1")
        assert user.accepted
        dropped = rec.terminal(flood[5].job_id)  # the flood's newest made room
        assert (dropped["type"], dropped["code"]) == ("rejected", "queue_full")
        assert "make room for other users'" in dropped["reason"]
        assert rec.of(flood[4].job_id, "rejected", "cancelled") == []
        # The flood cannot take the place back: it holds more than the user.
        assert not engine.submit(listener, "flood9", ["f9"], client="10.0.0.66").accepted
        # A second user gets in as well; the first user's submission is never the one dropped.
        user2 = engine.submit(listener, "user2", ["u2"], session="u2", client="10.0.0.2")
        assert user2.accepted
        assert rec.terminal(flood[4].job_id)["code"] == "queue_full"
        for key in ["first", *flood_pages[:4], "u", "u2"]:
            gates.open(key)
        assert rec.terminal(user.job_id)["value"] == "u"
        assert rec.terminal(user2.job_id)["value"] == "u2"
        for sub in flood[:4]:
            assert rec.terminal(sub.job_id)["type"] == "done"


@pytest.mark.parametrize(("a", "b"), [(3, 3), (4, 3)])
def test_clients_with_about_equal_shares_do_not_take_places_from_each_other(a: int, b: int) -> None:
    """Admitting would leave the newcomer holding as many as the one it took from: the two
    would only trade places, so it is refused."""
    gates = Gates()
    with running_engine(max_queue_size=a + b) as engine:
        held = _blocked(engine, gates)
        rec = Recorder(engine, "a", "b")
        keys = [f"a{n}" for n in range(a)] + [f"b{n}" for n in range(b)]
        subs = [engine.submit(held, key[0], [key], client=key[0].upper()) for key in keys]
        assert all(sub.accepted for sub in subs)
        refused = [engine.submit(held, page, ["late"], client=page.upper()) for page in "ba"]
        assert [sub.accepted for sub in refused] == [False, False]
        rejected = [m["job"] for m in rec.messages if m["type"] == "rejected"]
        assert rejected == [sub.job_id for sub in refused]
        for key in ["first", *keys]:
            gates.open(key)
        for sub in subs:
            assert rec.terminal(sub.job_id)["type"] == "done"


def test_jobs_lists_queued_deferred_and_running_submissions() -> None:
    gates = Gates()
    with running_engine() as engine:
        comp = Comp()
        # One concurrency group: while "run" runs, the other listener's submission waits.
        latest = comp.change(_held(gates), inputs="k", concurrency_id="one")
        other = comp.select(_held(gates), inputs="k", concurrency_id="one")
        rec = Recorder(engine, "p")
        running = engine.submit(latest, "p", ["run"])
        gates.wait_entered("run")
        deferred = engine.submit(latest, "p", ["later"])  # change is always_last
        queued = engine.submit(other, "q", ["queued"])
        listed = {job.id: (job.state, job.inputs) for job in engine.jobs()}
        assert listed == {
            running.job_id: ("running", ["run"]),
            deferred.job_id: ("deferred", ["later"]),
            queued.job_id: ("queued", ["queued"]),
        }
        for key in ["run", "later", "queued"]:
            gates.open(key)
        for sub in (running, deferred):
            assert rec.terminal(sub.job_id)["type"] == "done"
        assert rec.wait_for(lambda _: engine.jobs() == [])
