"""The count of open page sockets: one per page, a cap per session and in total, refusals that
cost nothing, and places that come back when sockets close (the real servers' side is in
tests/test_hostile_pages.py)."""

from __future__ import annotations

import typing as t

import pytest

from flask_gallery.web.capacity import UNBOUNDED_SERVER_SOCKETS, below, server_socket_capacity
from flask_gallery.web.sockets import EVICTED, SocketRefused, SocketRegistry


def registry(max_sockets: int | None = 100, max_per_session: int = 8) -> SocketRegistry:
    return SocketRegistry(max_sockets=max_sockets, max_per_session=max_per_session)


def test_a_pages_new_socket_replaces_its_old_one() -> None:
    sockets = registry()
    old = sockets.admit("page", "s")
    woken: list[str] = []
    old.bind(lambda: woken.append("old"))
    new = sockets.admit("page", "s")
    assert old.replaced and woken == ["old"] and not new.replaced
    assert len(sockets) == 2  # the old one holds its thread until it has closed
    sockets.release(old)
    assert len(sockets) == 1
    newest = sockets.admit("page", "s")  # the old one's release forgot nothing of the new one
    assert new.replaced and not newest.replaced


def test_a_slot_replaced_before_its_socket_waits_is_woken_at_once() -> None:
    sockets = registry()
    slot = sockets.admit("page", "s")
    sockets.admit("page", "s")
    woken: list[bool] = []
    slot.bind(lambda: woken.append(True))
    assert woken == [True]


def test_a_session_holds_a_few_sockets_and_others_are_not_affected() -> None:
    sockets = registry(max_per_session=3)
    held = [sockets.admit(f"page {i}", "greedy") for i in range(3)]
    with pytest.raises(SocketRefused, match="already has 3 live connections") as refused:
        sockets.admit("page 3", "greedy")
    assert refused.value.per_session
    sockets.admit("other page", "other")
    sockets.release(held[0])
    sockets.admit("page 3", "greedy")


def test_the_server_holds_its_cap_and_places_come_back() -> None:
    sockets = registry(max_sockets=2)
    first = sockets.admit("a", "s1")
    sockets.admit("b", "s2")
    with pytest.raises(SocketRefused, match="polling") as refused:
        sockets.admit("c", "s3")
    assert not refused.value.per_session
    assert len(sockets) == 2  # a refusal holds nothing
    sockets.release(first)
    sockets.admit("c", "s3")


def test_a_reconnect_at_the_cap_frees_the_old_socket_for_the_next_try() -> None:
    """A dropped connection the server has not noticed yet still holds its place: the page's
    reconnect is refused at the cap, but the old socket is told to close, and the page's next
    try (hx-ws retries) gets its place."""
    sockets = registry(max_sockets=1)
    stale = sockets.admit("page", "s")
    with pytest.raises(SocketRefused):
        sockets.admit("page", "s")
    assert stale.replaced
    sockets.release(stale)  # its relay saw the flag and ended
    sockets.admit("page", "s")


def test_a_cap_of_zero_makes_every_page_poll() -> None:
    with pytest.raises(SocketRefused):
        registry(max_sockets=0).admit("page", "s")


def test_the_default_cap_comes_from_the_server() -> None:
    sockets = registry(max_sockets=None)
    sockets.admit("page", "s")
    # Not in gunicorn nor gevent: a server with a thread per connection.
    assert sockets.max_sockets == server_socket_capacity() == UNBOUNDED_SERVER_SOCKETS


def test_a_quarter_of_the_servers_threads_stays_for_plain_requests() -> None:
    assert [below(n) for n in (1, 2, 4, 8, 32, 1000)] == [0, 1, 3, 6, 24, 750]


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"max_sockets": -1}, "max_sockets"),
        ({"max_per_session": -1}, "max_per_session"),
        ({"max_sockets": True}, "max_sockets"),
        ({"max_sockets": "8"}, "max_sockets"),
    ],
)
def test_bad_caps_are_refused(options: dict[str, t.Any], name: str) -> None:
    with pytest.raises(ValueError, match=f"'{name}' must be an int >= 0"):
        SocketRegistry(**{"max_sockets": 8, "max_per_session": 8, **options})


def test_at_the_cap_a_client_holding_fewer_takes_the_newest_place_of_the_one_holding_most() -> None:
    sockets = registry(max_sockets=4)
    hoard = [sockets.admit(f"a{i}", f"s{i}", "10.0.0.66") for i in range(3)]
    sockets.admit("u0", "u0", "10.0.0.1")
    with pytest.raises(SocketRefused):  # the one holding most takes no one's place
        sockets.admit("a3", "s3", "10.0.0.66")
    user = sockets.admit("u1", "u1", "10.0.0.2")
    assert hoard[-1].replaced and hoard[-1].why == EVICTED
    assert not any(slot.replaced for slot in hoard[:-1]) and not user.replaced
    with pytest.raises(SocketRefused):  # now 2 / 1 / 1: nobody holds more than one extra
        sockets.admit("u2", "u2", "10.0.0.3")
    sockets.release(hoard[-1])
    assert len(sockets) == 4


def test_equal_shares_take_no_places_and_unknown_clients_never_do() -> None:
    sockets = registry(max_sockets=2)
    sockets.admit("a", "s1", "10.0.0.1")
    sockets.admit("b", "s2", "10.0.0.2")
    for client in ("10.0.0.3", None):
        with pytest.raises(SocketRefused):
            sockets.admit(f"c {client}", "s3", client)


def test_places_being_freed_are_bounded() -> None:
    """A socket told to close holds its thread until it has: at most an eighth of the cap (at
    least one) may be closing at once, beyond it."""
    sockets = registry(max_sockets=8)
    hoard = [sockets.admit(f"a{i}", f"s{i}", "10.0.0.66") for i in range(8)]
    sockets.admit("u0", "u0", "10.0.0.1")
    with pytest.raises(SocketRefused):
        sockets.admit("u1", "u1", "10.0.0.2")
    sockets.release(hoard[-1])
    sockets.admit("u1", "u1", "10.0.0.2")
    assert [slot.why for slot in hoard if slot.replaced] == [EVICTED, EVICTED]
