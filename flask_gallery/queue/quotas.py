"""Fair shares of the queue: caps per page and per session, and no client holding it all.

A single global bound lets one client fill the queue for everyone: a page flooding clicks, or a
client that opens page after page. So every submission waiting for a worker is counted by its
page, its session and its client (remote address), and a backend asks here before it lets one
more wait. What counts is what the global bound counts: a submission queued in its concurrency
group, one waiting for a worker with ``queue=False``, and the deferred run of an
``always_last`` listener; a run that started, and a submission that replaces a pending one,
count nothing more.

The per-page and per-session caps refuse the submitter only. A client that drops its cookie gets
a new session with every page, so those caps cannot stop it alone: when the queue is full, a
submission from a client that, counting it, would still hold fewer than the client holding the
most is admitted by dropping that client's newest waiting submission. This acts only when the
queue is full, so users behind one proxy address lose nothing in normal operation; when it
acts, the client holding the most is the one that waits.

Kept apart from any backend so a Redis backend applies the same rule to the same counts.
"""

from __future__ import annotations

from .jobs import Job


class Quotas:
    """The waiting submissions of one backend, counted three ways. Not thread-safe: the backend
    calls it under its own lock.

    :param total: submissions waiting at once (``max_queue_size``); ``None`` for no bound.
    :param per_page: per page (``max_queued_per_page``); ``None`` for no bound.
    :param per_session: per session (``max_queued_per_session``); ``None`` for no bound.
    """

    def __init__(self, *, total: int | None, per_page: int | None, per_session: int | None) -> None:
        self.total = total
        self.per_page = per_page
        self.per_session = per_session
        #: Submissions waiting now.
        self.count = 0
        self._pages: dict[str, int] = {}
        self._sessions: dict[str, int] = {}
        #: Each client's waiting submissions, oldest first (a dict keeps insertion order).
        self._clients: dict[str | None, dict[Job, None]] = {}

    def refusal(self, job: Job) -> str | None:
        """Why ``job`` may not wait because its own page or session holds its cap, or None."""
        if self.per_page is not None and self._pages.get(job.page, 0) >= self.per_page:
            return (
                f"queue full: this page already has {self._pages[job.page]} submissions waiting"
                f" (max_queued_per_page={self.per_page}). Wait for them to finish."
            )
        if (
            self.per_session is not None
            and job.session is not None
            and self._sessions.get(job.session, 0) >= self.per_session
        ):
            return (
                f"queue full: your pages already have {self._sessions[job.session]} submissions"
                f" waiting (max_queued_per_session={self.per_session}). Wait for them to finish."
            )
        return None

    def full(self) -> bool:
        return self.total is not None and self.count >= self.total

    def victim(self, job: Job) -> Job | None:
        """With the queue full: the newest waiting submission of the client holding the most,
        when ``job``'s client, counting ``job``, would still hold fewer; else None."""
        mine = len(self._clients.get(job.client, ()))
        top: dict[Job, None] | None = None
        for client, jobs in self._clients.items():
            if client != job.client and (top is None or len(jobs) > len(top)):
                top = jobs
        if top is None or mine + 1 >= len(top):
            return None
        return next(reversed(top))

    def add(self, job: Job) -> None:
        """Count ``job`` as waiting (once, however often it is called)."""
        if job.counted:
            return
        job.counted = True
        self.count += 1
        self._pages[job.page] = self._pages.get(job.page, 0) + 1
        if job.session is not None:
            self._sessions[job.session] = self._sessions.get(job.session, 0) + 1
        jobs = self._clients.get(job.client)
        if jobs is None:
            jobs = self._clients[job.client] = {}
        jobs[job] = None

    def remove(self, job: Job) -> None:
        """``job`` no longer waits (it started or ended)."""
        if not job.counted:
            return
        job.counted = False
        self.count -= 1
        _decrement(self._pages, job.page)
        if job.session is not None:
            _decrement(self._sessions, job.session)
        jobs = self._clients[job.client]
        del jobs[job]
        if not jobs:
            del self._clients[job.client]


def _decrement(counts: dict[str, int], key: str) -> None:
    left = counts[key] - 1
    if left:
        counts[key] = left
    else:
        del counts[key]
