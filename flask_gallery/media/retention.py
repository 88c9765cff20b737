"""Deleting media nothing uses any more (``GALLERY_MEDIA_TTL``), safely for every process
sharing the store.

What is in use is known only inside the processes using it (their pages and queued jobs), while
``flask gallery clean`` runs in a process of its own. So use is made visible on disk as a lease:
a key's lease is the mtime of its ``meta.json``, renewed when the key is written, when its
content is added again, and by each server every ``ttl / 4`` for the keys its pages, jobs and
declared values reference (:class:`Sweeper`). A sweep deletes only keys whose lease is older
than ``ttl`` and that the sweeping process does not reference itself.

Deleting races with adding the same content in another process: the adder renews the lease
(a ``utime`` of ``meta.json``) and relies on the key when that succeeds. The sweeper first
renames the key's folder into the trash in one atomic step, then looks at the lease again in
the trash: renewed meanwhile, the folder goes back; renewed after the rename, the adder's
``utime`` failed and it stored the content again. Other processes' cached records are covered
by the store's rule that a record without its data is absent.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import threading
import time
import typing as t
from pathlib import Path

from .ids import KEY_RE
from .record import META

if t.TYPE_CHECKING:
    from .store import MediaStore

logger = logging.getLogger("flask_gallery.media")

#: Seconds between two lease renewals (and sweeps) of a server, at most; a quarter of the TTL
#: when that is shorter.
LONGEST_INTERVAL = 3600.0
#: ... and at least (very short TTLs, in tests).
SHORTEST_INTERVAL = 0.25


@dataclasses.dataclass(frozen=True)
class Removal:
    """A key a sweep deleted (or, in a dry run, would delete)."""

    key: str
    files: int
    bytes: int
    #: Seconds since its lease was last renewed.
    idle: float


@dataclasses.dataclass
class SweepReport:
    removed: list[Removal] = dataclasses.field(default_factory=list)
    #: Keys kept because this process references them.
    in_use: int = 0
    #: Keys kept because their lease is younger than the TTL.
    recent: int = 0
    #: Temp files and trash of dead processes removed (0 in a dry run).
    orphans: int = 0

    @property
    def bytes(self) -> int:
        return sum(removal.bytes for removal in self.removed)


def check_ttl(value: object, name: str = "GALLERY_MEDIA_TTL") -> float | None:
    """The TTL in seconds, or None (keep media for ever); ValueError naming ``name`` else."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(
            f"{name} must be a number of seconds > 0, or None to keep media for ever; "
            f"got {value!r}."
        )
    return float(value)


def lease_interval(ttl: float) -> float:
    """How often a server renews its leases: well within the TTL, so a referenced key's lease is
    never older than a quarter of it."""
    return min(max(ttl / 4, SHORTEST_INTERVAL), LONGEST_INTERVAL)


def sweep(
    store: MediaStore,
    ttl: float,
    in_use: t.Collection[str] = (),
    *,
    dry_run: bool = False,
) -> SweepReport:
    """Delete the keys whose lease is older than ``ttl`` and not in ``in_use``; with
    ``dry_run``, only report them. Also removes what dead processes left in the staging and
    trash folders."""
    report = SweepReport()
    layout = store.layout
    if not dry_run:
        report.orphans = layout.remove_orphans()
    for folder in _key_folders(layout.root):
        key = folder.name
        if key in in_use:
            report.in_use += 1
            continue
        idle = _idle(folder)
        if idle is None:
            continue  # gone meanwhile
        if idle < ttl:
            report.recent += 1
            continue
        files, size = _usage(folder)
        if not dry_run and not _delete(store, key, ttl):
            report.recent += 1  # renewed meanwhile
            continue
        report.removed.append(Removal(key, files, size, idle))
    return report


def _key_folders(root: Path) -> t.Iterator[Path]:
    """``<root>/<ab>/<key>`` folders, one prefix at a time (a gevent worker's other greenlets
    run in between)."""
    try:
        prefixes = sorted(entry.name for entry in os.scandir(root) if entry.is_dir())
    except FileNotFoundError:
        return
    for prefix in prefixes:
        if len(prefix) != 2 or prefix.startswith("."):
            continue
        try:
            entries = list(os.scandir(root / prefix))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.name.startswith(prefix) and KEY_RE.fullmatch(entry.name):
                yield Path(entry.path)
        time.sleep(0)


def _idle(folder: Path, now: float | None = None) -> float | None:
    """Seconds since the key's lease was renewed: its record's mtime, or for a folder without a
    record (data a crash left before its record was written) its newest file's."""
    now = time.time() if now is None else now
    try:
        return now - (folder / META).stat().st_mtime
    except FileNotFoundError:
        pass
    try:
        newest = max(
            [folder.stat().st_mtime]
            + [entry.stat(follow_symlinks=False).st_mtime for entry in os.scandir(folder)]
        )
    except FileNotFoundError:
        return None
    return now - newest


def _usage(folder: Path) -> tuple[int, int]:
    files = size = 0
    try:
        for entry in os.scandir(folder):
            if entry.is_file(follow_symlinks=False):
                files += 1
                size += entry.stat(follow_symlinks=False).st_size
    except FileNotFoundError:
        pass
    return files, size


def _delete(store: MediaStore, key: str, ttl: float) -> bool:
    """Delete one key unless its lease was renewed meanwhile (see module doc); whether it went."""
    trashed = store.layout.to_trash(key)
    if trashed is None:
        return False
    idle = _idle(trashed)
    renewed = idle is not None and idle < ttl
    if renewed and store.layout.restore(trashed, key):
        return False
    # Not renewed; or renewed and then stored again meanwhile by an adder who found it gone
    # (the new folder is complete or will be: its record is written last).
    store.forget(key)
    shutil.rmtree(trashed, ignore_errors=True)
    return True


class Sweeper:
    """A server's retention thread: every :func:`lease_interval`, renews the leases of the keys
    ``in_use()`` returns, then (with ``delete``) sweeps. Started by the app on its first render
    when ``GALLERY_MEDIA_TTL`` is set; :meth:`stop` ends it."""

    def __init__(
        self,
        store: MediaStore,
        ttl: float,
        in_use: t.Callable[[], t.Collection[str]],
        *,
        delete: bool = True,
        name: str = "flask_gallery-media-sweeper",
    ) -> None:
        self.store = store
        self.ttl = ttl
        self.interval = lease_interval(ttl)
        self.delete = delete
        self._in_use = in_use
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def tick(self) -> SweepReport | None:
        """One round: renew, then sweep. Failures are logged: the next round tries again."""
        try:
            keys = set(self._in_use())
            self.store.renew(keys)
            if not self.delete:
                return None
            report = sweep(self.store, self.ttl, keys)
        except Exception:
            logger.exception("Media retention failed; trying again in %.0f s", self.interval)
            return None
        if report.removed:
            logger.info(
                "Deleted %d media unused for %.0f s (%d bytes)",
                len(report.removed),
                self.ttl,
                report.bytes,
            )
        return report

    def _run(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.interval)
