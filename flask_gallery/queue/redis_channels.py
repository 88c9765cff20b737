"""Per-page channels in Redis: a result reaches whichever process holds the page's socket.

The same contract as :class:`.channel.PageChannels` (sequence numbers, a bounded replay with a
TTL, a running job's latest status kept aside), kept by Lua scripts so that every process
appends to one sequence. Each message is published on the page's Redis channel as it is
appended; a process subscribes there for the pages whose sockets it holds.

Order: a subscriber gets messages strictly by ``seq``. This process's own messages are handed
over at once (no round trip through Redis); others arrive by pub/sub, where a message is
published only when a process other than its sender listens to the page (each listening
process is recorded with the page's channel as it subscribes, see ``channel_replay.lua``).
A message that arrives after a later one (two processes appending at the same moment) waits
for the gap to fill, and a gap still open after :data:`GAP_WAIT` is read from the replay,
where a status superseded meanwhile is, correctly, absent: a subscriber may skip a superseded
status but never a result.

Redis out of reach: every subscriber of this process is given ``{"type": "link", "up": False}``
(its page shows that the server is reconnecting), and ``{"type": "link", "up": True}`` when
Redis answers again, after what was appended meanwhile, read from the replay. A sequence that
starts again lower (a Redis restarted without persistence) starts each subscriber again too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import typing as t

from .channel import REPLAY_SIZE, Replay, Subscriber
from .channel import Subscription as _Delivery
from .jobs import unique_id
from .messages import STATUS, TERMINAL, Message
from .redis_client import script

if t.TYPE_CHECKING:
    import redis

_log = logging.getLogger("flask_gallery.queue")

#: Seconds a subscriber waits for a missing ``seq`` before reading it from the replay.
GAP_WAIT = 0.1
#: How long a page's cursor (its last ``seq``) outlives its last message, ms: a page open for
#: hours must not see its sequence start again under a cursor it still holds.
CURSOR_TTL_MS = 24 * 3600 * 1000
#: Seconds between two renewals of the record of the pages this process listens to.
LISTEN_RENEWAL = 3600.0
#: Prefix of the threads this module starts (tests look for leftovers by it).
THREAD_NAME = "flask_gallery-redis-channels"


class _Ordered:
    """A subscriber's place in its page's sequence: what it has been given, and what came early."""

    __slots__ = ("delivery", "early", "gap_since", "last", "lock", "page")

    def __init__(self, page: str, callback: Subscriber, last: int) -> None:
        self.page = page
        self.delivery = _Delivery(callback)
        self.last = last
        self.early: dict[int, Message] = {}
        self.gap_since: float | None = None
        self.lock = threading.Lock()

    def feed(self, messages: t.Iterable[Message], *, upto: int = 0, drain: bool = True) -> None:
        """Take messages in any order; hand over those that follow ``last`` without a gap.
        ``upto``: every seq up to it is known (a replay's cursor): what is missing below it was
        superseded, not lost."""
        with self.lock:
            for message in messages:
                seq = int(message["seq"])
                if seq > self.last:
                    self.early.setdefault(seq, message)
            if upto > self.last:
                below = sorted(seq for seq in self.early if seq <= upto)
                for seq in below:
                    self.delivery.add(self.early.pop(seq))
                self.last = upto
            while self.last + 1 in self.early:
                self.last += 1
                self.delivery.add(self.early.pop(self.last))
            self.gap_since = None if not self.early else (self.gap_since or time.monotonic())
        if drain:
            self.delivery.drain()

    def gap_open_since(self) -> float | None:
        with self.lock:
            return self.gap_since


class RedisChannels:
    """:class:`.channel.PageChannels` for several processes; see the module doc."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        *,
        replay_size: int = REPLAY_SIZE,
        replay_ttl: float = 60.0,
        clock: t.Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._size = replay_size
        self._ttl = replay_ttl
        #: Wall time: the replay's TTL is compared across processes.
        self._clock = clock
        self._append = script(client, "channel_append", "channel")
        self._replay = script(client, "channel_replay", "channel")
        self._release = script(client, "channel_release")
        self._lock = threading.Lock()
        self._subs: dict[str, list[_Ordered]] = {}
        #: Appends of this process under way, by page (see :meth:`_ours`).
        self._appending: dict[str, int] = {}
        self._confirmed: dict[str, threading.Event] = {}
        #: This process's id among the page channels' listeners.
        self.me = unique_id()
        self._listened_at = time.monotonic()
        self._epoch = self._adopt_epoch()
        self._pubsub = client.pubsub()
        #: A channel of this process only, so the reader always has a subscription to wait on.
        self._own = f"{prefix}ch-control:{id(self):x}:{time.time_ns()}"
        self._closed = threading.Event()
        #: Redis was out of reach at the reader's last try.
        self._down = False
        self._pubsub.subscribe(self._own)
        self._reader = threading.Thread(target=self._read, name=THREAD_NAME, daemon=True)
        self._reader.start()

    def _base(self, page: str) -> str:
        return f"{self._prefix}ch:{page}"

    # -- the PageChannels contract --------------------------------------------------------

    def publish(self, page: str, message: Message) -> None:
        with self._ours(page):
            self.append(page, message)
            self.deliver(page)

    def append(self, page: str, message: Message) -> None:
        """Record and publish ``message`` (adding its ``seq``); this process's subscribers get
        it at :meth:`deliver`."""
        kind, job = message.get("type"), message.get("job")
        role = "status" if kind in STATUS else "terminal" if kind in TERMINAL else ""
        body = json.dumps(message, separators=(",", ":"))
        with self._ours(page):
            seq = self._append(
                args=[
                    self._prefix,
                    page,
                    body,
                    role,
                    "" if job is None else str(job),
                    repr(float(self._clock())),
                    self._size,
                    self._ttl,
                    CURSOR_TTL_MS,
                    self.me,
                ]
            )
            message["seq"] = int(seq)
            with self._lock:
                subs = [] if self._down else list(self._subs.get(page, ()))
            for sub in subs:
                with sub.lock:
                    if message["seq"] > sub.last:
                        sub.early.setdefault(message["seq"], message)

    @contextlib.contextmanager
    def _ours(self, page: str) -> t.Iterator[None]:
        """While this process appends to ``page`` (and delivers, for :meth:`publish`), the
        reader leaves the page's deliveries to it: its subscribers get its messages in the
        publishing thread, before the call returns, in order with those other processes
        published meanwhile."""
        with self._lock:
            self._appending[page] = self._appending.get(page, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                left = self._appending[page] - 1
                if left:
                    self._appending[page] = left
                else:
                    del self._appending[page]
            if not left:  # what the reader left here meanwhile, from other processes too
                self.deliver(page)

    def deliver(self, page: str) -> None:
        with self._lock:
            subs = list(self._subs.get(page, ()))
        for sub in subs:
            sub.feed(())

    def hand_over(self, posted: t.Sequence[bytes | str]) -> None:
        """Messages a script of this process posted (page, "<seq> <json>" pairs, as it returned
        them): this process's subscribers get them now (Redis publishes them only to other
        processes)."""
        if self._down:  # Redis came back before the reader saw it: _back replays these
            return
        pages: dict[str, list[Message]] = {}
        for page, member in zip(posted[::2], posted[1::2], strict=True):
            name = page.decode() if isinstance(page, bytes) else page
            pages.setdefault(name, []).append(_parse(member, timed=False))
        for name, messages in pages.items():
            with self._lock:
                subs = list(self._subs.get(name, ()))
            for sub in subs:
                sub.feed(messages)

    def subscribe(
        self, page: str, callback: Subscriber, after: int | None = None
    ) -> t.Callable[[], None]:
        """As :meth:`.channel.PageChannels.subscribe`; the page's Redis channel is listened to
        before the replay is read, so nothing falls between them."""
        self._listen(page)
        replay = self.replay(page, after or 0, listen=True)
        # No cursor: new messages only. A cursor past the sequence dates from before a restart.
        start = replay.last_seq if after is None else after if after <= replay.last_seq else 0
        sub = _Ordered(page, callback, start)
        with self._lock:
            self._subs.setdefault(page, []).append(sub)
        if after is not None:
            sub.feed(replay.messages, upto=replay.last_seq)

        def unsubscribe() -> None:
            with self._lock:
                subs = self._subs.get(page)
                if subs is None or sub not in subs:
                    return
                subs.remove(sub)
                if subs:
                    return
                del self._subs[page]
                self._confirmed.pop(page, None)
            t.cast(t.Any, self._pubsub).unsubscribe(self._base(page))  # redis-py: untyped
            with contextlib.suppress(Exception):  # Redis away: a few needless publishes later
                self._client.srem(f"{self._base(page)}:subs", self.me)

        return unsubscribe

    def replay(self, page: str, after: int = 0, *, listen: bool = False) -> Replay:
        """What ``page`` buffered after ``after``; ``listen``: and this process listens to the
        page from now on (messages of other processes are published for it)."""
        seq, lost, *members = self._replay(
            args=[
                self._base(page),
                after,
                repr(float(self._clock())),
                self._ttl,
                CURSOR_TTL_MS,
                self.me if listen else "",
            ]
        )
        messages = sorted((_parse(m, timed=True) for m in members), key=lambda m: int(m["seq"]))
        seq, lost = int(seq), int(lost)
        return Replay(messages, lost <= after <= seq, seq)

    def release(self, page: str) -> None:
        """Forget what the page's channel buffers, unless a process still listens to it."""
        numsub = dict(self._client.pubsub_numsub(self._base(page)))
        if any(count for count in numsub.values()):
            return
        self._release(args=[self._base(page), CURSOR_TTL_MS])

    def close(self) -> None:
        self._closed.set()
        self._reader.join(5.0)
        self._pubsub.close()
        with self._lock:
            pages = list(self._subs)
        with contextlib.suppress(Exception):  # Redis away: a few needless publishes later
            forget = self._client.pipeline(transaction=False)
            for page in pages:
                forget.srem(f"{self._base(page)}:subs", self.me)
            forget.execute()

    # -- the reader -----------------------------------------------------------------------

    def _listen(self, page: str) -> None:
        """Subscribe this process to the page's Redis channel and wait (a moment at most) until
        Redis confirms it, so a replay read after it cannot miss a message published between."""
        with self._lock:
            event = self._confirmed.get(page)
            if event is None:
                event = self._confirmed[page] = threading.Event()
                self._pubsub.subscribe(self._base(page))
        if not event.wait(2.0):
            _log.warning("Redis did not confirm the subscription to page %s within 2 s", page)

    def _read(self) -> None:
        base = f"{self._prefix}ch:"
        while not self._closed.is_set():
            try:
                item = self._pubsub.get_message(timeout=GAP_WAIT)
                if self._down:
                    self._back()
            except Exception:  # the connection dropped: redis-py resubscribes on reconnect
                if not self._down:
                    _log.warning("Lost the Redis channel connection; reconnecting", exc_info=True)
                    self._down = True
                    self._tell_all({"type": "link", "up": False})
                self._closed.wait(0.5)
                continue
            if item is not None:
                channel = item["channel"].decode()
                page = channel[len(base) :] if channel.startswith(base) else None
                if page is None:
                    continue
                if item["type"] == "subscribe":
                    with self._lock:
                        event = self._confirmed.get(page)
                    if event is not None:
                        event.set()
                elif item["type"] == "message":
                    data: bytes = item["data"]
                    with self._lock:
                        subs = list(self._subs.get(page, ()))
                        ours = page in self._appending
                    # Already had from a replay (a subscribe, a gap filled): not parsed.
                    seq = int(data[: data.index(b" ")])
                    if any(sub.last < seq for sub in subs):
                        message = _parse(data, timed=False)
                        for sub in subs:
                            sub.feed((message,), drain=not ours)
            self._fill_gaps()
            if time.monotonic() - self._listened_at > LISTEN_RENEWAL:
                self._renew_listening()

    def _back(self) -> None:
        """Redis answers again: each subscriber gets what was appended meanwhile (from the
        start of a new sequence, when Redis lost its data), then the news. While Redis was
        away, this process's own messages were not handed over (see :meth:`hand_over`): they
        come with the replay, once each."""
        epoch = self._adopt_epoch()
        forgot, self._epoch = epoch != self._epoch, epoch
        with self._lock:
            subs = [sub for subs in self._subs.values() for sub in subs]
        if forgot:  # seqs start again at 1
            for sub in subs:
                with sub.lock:
                    sub.last, sub.early, sub.gap_since = 0, {}, None
        self._down = False  # messages handed over from here on are fed as they come
        for sub in subs:
            replay = self.replay(sub.page, sub.last, listen=True)
            sub.feed(replay.messages, upto=replay.last_seq)
        _log.warning("The Redis channel connection is back")
        self._tell_all({"type": "link", "up": True})

    def _adopt_epoch(self) -> bytes:
        """The mark of Redis's data as it is: set by the first process to find it missing
        (Redis started without the data it had), so every process sees the same change."""
        key = f"{self._prefix}ch-epoch"
        self._client.set(key, unique_id(), nx=True)
        return t.cast(bytes, self._client.get(key))

    def _tell_all(self, message: Message) -> None:
        """A message outside any page's sequence, to every subscriber of this process."""
        with self._lock:
            subs = [sub for subs in self._subs.values() for sub in subs]
        for sub in subs:
            sub.delivery.add(message.copy())
            sub.delivery.drain()

    def _renew_listening(self) -> None:
        """Say again which pages this process listens to: the record of it expires a day
        after it was last said (a process that died stops being published to)."""
        self._listened_at = time.monotonic()
        with self._lock:
            pages = list(self._subs)
        with contextlib.suppress(Exception):  # Redis away: said again at the next renewal
            renew = self._client.pipeline(transaction=False)
            for page in pages:
                renew.sadd(f"{self._base(page)}:subs", self.me)
                renew.pexpire(f"{self._base(page)}:subs", CURSOR_TTL_MS)
            renew.execute()

    def _fill_gaps(self) -> None:
        """Read from the replay what a subscriber has waited for longer than :data:`GAP_WAIT`."""
        now = time.monotonic()
        with self._lock:
            subs = [sub for subs in self._subs.values() for sub in subs]
        for sub in subs:
            since = sub.gap_open_since()
            if since is not None and now - since > GAP_WAIT:
                replay = self.replay(sub.page, sub.last)
                sub.feed(replay.messages, upto=replay.last_seq)


def _parse(member: bytes | str, *, timed: bool) -> Message:
    """A stored member ("<seq> <time> <json>") or a published one ("<seq> <json>")."""
    text = member.decode() if isinstance(member, bytes) else member
    parts = text.split(" ", 2 if timed else 1)
    message: Message = json.loads(parts[-1])
    message["seq"] = int(parts[0])
    return message
