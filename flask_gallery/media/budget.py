"""One memory budget shared by every full decode (and encode) of the media store.

A 250 KB PNG can declare 64 megapixels: decoding it takes 256 MiB, and nothing in the file's
size warns of that. So each decode first reserves what its header promises (see
:mod:`.decode`), and the bytes reserved at once never exceed the budget: work beyond it waits
its turn, first come first served, so a large decode is never starved by a stream of small ones.
A single decode larger than the whole budget runs alone. A waiter that does not get its turn
within ``wait`` seconds, or finds ``max_waiting`` others already queued, gets
:class:`DecodeBusy` (a message for the user) instead of hanging a request thread.

First come first served means everyone waits behind a decompression bomb: four of them in a row
held every ordinary photo back for seconds, and filled the waiting places so that users'
uploads were refused as busy. So the media store keeps a lane of its own for ordinary images
(``small_share`` of the budget, beside it): a decode no larger than that lane waits only behind
other such decodes, and never takes from the bombs' budget, so neither delays the other. The
memory held at once is then at most the budget plus the lane.

Freed memory goes back to the system: glibc keeps the memory of freed image buffers in its
per-thread arenas (each request thread decodes in its own), so RSS stays high long after the
decodes ended. ``malloc_trim(0)``, called when a large reservation ends, returns the free
chunks of every arena; the free top of a thread's arena, which it leaves, large images no
longer land in (:func:`.decode.map_large_images`).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import threading
import typing as t

#: Seconds a decode waits for its share of the budget before it is refused.
DEFAULT_WAIT = 30.0
#: Decodes that may wait at once; more are refused at once (each holds a request thread).
DEFAULT_MAX_WAITING = 16
#: Reservations this large give their memory back to the system when they end.
TRIM_FROM = 32 << 20

_MIB = 1 << 20


class DecodeBusy(RuntimeError):
    """The decode budget could not be had in time: the server is decoding other large images.

    Its message is meant for the user: retrying a little later works.
    """


@dataclasses.dataclass
class _Waiter:
    nbytes: int
    granted: threading.Event = dataclasses.field(default_factory=threading.Event)


class _Lane:
    """Bytes that one class of decodes may hold at once, and its first-come-first-served queue
    (``capacity`` None: no limit)."""

    def __init__(self, capacity: int | None) -> None:
        self.capacity = capacity
        self.queue: collections.deque[_Waiter] = collections.deque()
        self.in_use = 0

    def admits(self, nbytes: int) -> bool:
        # A reservation larger than the lane runs alone.
        return self.capacity is None or self.in_use == 0 or self.in_use + nbytes <= self.capacity


@functools.cache
def _malloc_trim() -> t.Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none (musl, macOS, Windows).

    Looked up among the symbols already loaded (``dlopen(NULL)``), on first use:
    ``ctypes.util.find_library`` would run ``ldconfig`` in a subprocess.
    """
    import ctypes

    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return t.cast("t.Callable[[int], int]", trim)


def release_memory() -> bool:
    """Give freed heap memory back to the system; False where the platform cannot."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


class DecodeBudget:
    """Bytes that decodes may hold at once.

    :param max_bytes: The budget. ``None`` or ``0``: no limit (every decode runs at once).
    :param wait: Seconds a decode may wait for its turn.
    :param max_waiting: Decodes that may wait at once.
    :param trim: Return freed memory to the system after large reservations.
    :param small_share: The lane for ordinary images, as a share of ``max_bytes``, held beside
        it: reservations no larger than the lane use it alone (``0``: one lane for all).
    """

    def __init__(
        self,
        max_bytes: int | None,
        *,
        wait: float = DEFAULT_WAIT,
        max_waiting: int = DEFAULT_MAX_WAITING,
        trim: bool = True,
        small_share: float = 0.0,
    ) -> None:
        if max_bytes is not None and (not isinstance(max_bytes, int) or max_bytes < 0):
            raise ValueError(
                f"The decode budget must be a number of bytes (an int >= 0) or None; "
                f"got {max_bytes!r}."
            )
        self.max_bytes = max_bytes or None
        self.wait = wait
        self.max_waiting = max_waiting
        self.trim = trim
        self._lock = threading.Lock()
        #: Reservations up to this size use the ordinary images' lane (0: there is none).
        self.small_max = int(self.max_bytes * small_share) if self.max_bytes else 0
        self._main = _Lane(self.max_bytes)
        self._small = _Lane(self.small_max)
        #: Bytes reserved now.
        self.in_use = 0
        #: Reservations granted so far (each decode is one: tests count decodes with it).
        self.granted = 0
        #: The most bytes reserved at once.
        self.peak = 0

    @property
    def waiting(self) -> int:
        return len(self._main.queue) + len(self._small.queue)

    def _lane(self, nbytes: int) -> _Lane:
        return self._small if nbytes <= self.small_max else self._main

    def fits(self, nbytes: int) -> bool:
        """Whether one reservation of ``nbytes`` is within the budget at all."""
        return self.max_bytes is None or nbytes <= self.max_bytes

    @contextlib.contextmanager
    def reserve(self, nbytes: int) -> t.Iterator[None]:
        """Hold ``nbytes`` of the budget for the block; :class:`DecodeBusy` if not in time."""
        self.acquire(nbytes)
        try:
            yield
        finally:
            self.release(nbytes)

    def acquire(self, nbytes: int) -> None:
        nbytes = max(0, int(nbytes))
        with self._lock:
            lane = self._lane(nbytes)
            if not lane.queue and lane.admits(nbytes):
                self._grant(lane, nbytes)
                return
            if len(lane.queue) >= self.max_waiting:
                raise DecodeBusy(self._busy(nbytes, "too many images are waiting to be decoded"))
            waiter = _Waiter(nbytes)
            lane.queue.append(waiter)
            wait = self.wait
        if waiter.granted.wait(wait):
            return
        with self._lock:
            if waiter.granted.is_set():  # granted as the wait ran out
                return
            lane.queue.remove(waiter)
            self._grant_waiters(lane)  # it may have held back the ones behind it
        raise DecodeBusy(self._busy(nbytes, f"the wait for memory passed {wait:g} s"))

    def release(self, nbytes: int) -> None:
        nbytes = max(0, int(nbytes))
        with self._lock:
            lane = self._lane(nbytes)
            lane.in_use -= nbytes
            self.in_use -= nbytes
            self._grant_waiters(lane)
        if self.trim and nbytes >= TRIM_FROM:
            release_memory()

    def _grant(self, lane: _Lane, nbytes: int) -> None:
        lane.in_use += nbytes
        self.in_use += nbytes
        self.granted += 1
        self.peak = max(self.peak, self.in_use)

    def _grant_waiters(self, lane: _Lane) -> None:
        """First come, first served: the head of the lane's queue goes first, and nobody
        passes it."""
        while lane.queue and lane.admits(lane.queue[0].nbytes):
            waiter = lane.queue.popleft()
            self._grant(lane, waiter.nbytes)
            waiter.granted.set()

    def _busy(self, nbytes: int, why: str) -> str:
        limit = f"{self.max_bytes / _MIB:.0f} MiB" if self.max_bytes else "no limit"
        return (
            f"The server is busy decoding other images ({why}; this one needs "
            f"{nbytes / _MIB:.0f} MiB of a {limit} decode budget). Try again in a moment."
        )
