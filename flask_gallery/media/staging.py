"""Temp files named after the process writing them, so a restart can tell its dead
predecessor's leftovers from another live process's writes in the same store.

Several processes share a store (gunicorn workers, a ``flask gallery clean`` run, other hosts
on a network share), and a process killed with ``kill -9`` leaves its temp files behind. Every
temp file and folder the store makes is named ``<host>-<pid>-<start>-<label>-<random>-<name>``:
``host`` is a hash of the host name, boot and pid namespace (so two containers never mistake
each other's pids), ``start`` the process's start time (so a reused pid is not mistaken for the
writer). A leftover is an orphan when its writer is gone from this host, or, written from
another host (which cannot be asked), when it is older than :data:`ORPHAN_AGE`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import secrets
import shutil
import socket
import time
import typing as t
from pathlib import Path

#: Seconds after which a temp file another host wrote counts as an orphan (no write of the
#: store takes this long).
ORPHAN_AGE = 3600.0
#: Seconds another host's marker of a pending write is believed: its writer thread writes
#: within moments unless that process died.
PENDING_AGE = 60.0

_NAME_RE = re.compile(r"([0-9a-f]{12})-(\d+)-(\d+)-([0-9a-z]+)-([0-9a-f]+)-(.+)", re.ASCII)


class Owner(t.NamedTuple):
    host: str
    pid: int
    start: int


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as file:
            return file.read().strip()
    except OSError:
        return ""


@functools.cache
def _host() -> str:
    namespace = ""
    with contextlib.suppress(OSError):
        namespace = os.readlink("/proc/self/ns/pid")
    parts = (socket.gethostname(), _read("/proc/sys/kernel/random/boot_id"), namespace)
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), 0 where /proc is missing,
    None when there is no such process."""
    if not os.path.isdir("/proc/self"):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return 0
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return None
    try:
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (IndexError, ValueError):
        return None


@functools.cache
def _me(pid: int) -> Owner:
    return Owner(_host(), pid, _start_time(pid) or 0)


def me() -> Owner:
    """This process (looked up again after a fork: gunicorn forks its workers)."""
    return _me(os.getpid())


def temp_name(label: str, name: str, owner: Owner | None = None) -> str:
    """A fresh temp name for ``name`` (a store file name) about ``label`` (a key, or a word),
    written by ``owner`` (this process by default)."""
    host, pid, start = owner or me()
    return f"{host}-{pid}-{start}-{label}-{secrets.token_hex(6)}-{name}"


def parse(name: str) -> tuple[Owner, str, str] | None:
    """``(owner, label, name)`` of a temp name, None for anything else."""
    match = _NAME_RE.fullmatch(name)
    if match is None:
        return None
    host, pid, start, label, _, rest = match.groups()
    return Owner(host, int(pid), int(start)), label, rest


def is_alive(owner: Owner) -> bool:
    """Whether the writer may still be running (always True for another host's)."""
    if owner.host != _host():
        return True
    if owner.pid == os.getpid():
        return owner == me()
    return _start_time(owner.pid) in (owner.start, 0)


def is_orphan(path: Path, now: float | None = None) -> bool:
    """A temp file or folder whose writer is gone (see module doc)."""
    parsed = parse(path.name)
    if parsed is not None and parsed[0].host == _host():
        return not is_alive(parsed[0])
    try:
        age = (time.time() if now is None else now) - path.lstat().st_mtime
    except FileNotFoundError:
        return False
    return age > ORPHAN_AGE


def remove_orphans(folder: Path) -> int:
    """Remove the orphans in ``folder``; how many there were."""
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return 0
    removed = 0
    now = time.time()
    for entry in entries:
        path = Path(entry.path)
        if not is_orphan(path, now):
            continue
        with contextlib.suppress(FileNotFoundError):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                os.unlink(path)
            removed += 1
    return removed


def live_writer(folder: Path, label: str) -> bool:
    """Whether a live process has a temp file about ``label`` in ``folder`` (another host's
    counts for :data:`PENDING_AGE` seconds)."""
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return False
    now = time.time()
    for entry in entries:
        parsed = parse(entry.name)
        if parsed is None or parsed[1] != label:
            continue
        if parsed[0].host != _host():
            with contextlib.suppress(FileNotFoundError):
                if now - entry.stat(follow_symlinks=False).st_mtime < PENDING_AGE:
                    return True
        elif is_alive(parsed[0]):
            return True
    return False
