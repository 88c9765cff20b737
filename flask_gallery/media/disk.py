"""The store's files: where each key lives, atomic and durable writes, and opening without
escaping root.

Files appear whole or not at all: each is written to a temp file in the ``.staging`` folder
(named after its writer, see :mod:`.staging`) and renamed into place. A durable write also
flushes the file to disk before the rename and the folder after it, so that what a later step
relies on (the data before its record, a record before the answer that names it) survives a
crash of the process or the machine.

Every path is built from a key that already matched :data:`~.ids.KEY_RE` and a file name from
this package, never from request text. Reads still check that the real path stays under the
real root and refuse a symlink as the last component (``O_NOFOLLOW``), so a symlink planted
inside the store cannot expose another file.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import stat
import typing as t

from . import staging
from .ids import KEY_RE
from .offload import offload

#: Temp files being written, named after their writer.
STAGING = ".staging"
#: Key folders being deleted (renamed here first, so deleting is atomic for every reader).
TRASH = ".trash"

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)


class Layout:
    """Paths of a store rooted at ``root``: ``<root>/<key[:2]>/<key>/<name>``."""

    def __init__(self, root: pathlib.Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.real_root = pathlib.Path(os.path.realpath(root))
        self.staging = root / STAGING
        self.staging.mkdir(exist_ok=True)
        self.trash = root / TRASH

    def remove_orphans(self) -> int:
        """Remove what dead writers left in the staging and trash folders; how many."""
        return staging.remove_orphans(self.staging) + staging.remove_orphans(self.trash)

    def directory(self, key: str) -> pathlib.Path:
        if not KEY_RE.fullmatch(key):
            raise ValueError(f"Not a media key: {key!r}.")
        return self.root / key[:2] / key

    def path(self, key: str, name: str) -> pathlib.Path:
        if not name or "/" in name or "\\" in name or name.startswith(".") or "\0" in name:
            raise ValueError(f"Not a store file name: {name!r}.")
        return self.directory(key) / name

    def is_safe(self, path: pathlib.Path) -> bool:
        """True when ``path`` (in this layout) resolves to the same place under the real root."""
        expected = self.real_root / path.relative_to(self.root)
        return os.path.realpath(path) == str(expected)

    def open_read(self, key: str, name: str) -> t.BinaryIO | None:
        """The file opened for reading, or ``None`` when absent or unsafe (never raises OSError)."""
        path = self.path(key, name)
        try:
            if not self.is_safe(path):
                return None
            fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | _BINARY)
        except OSError:
            return None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                return None
            return os.fdopen(fd, "rb")
        except OSError:
            os.close(fd)
            return None

    def exists(self, key: str, name: str) -> bool:
        path = self.path(key, name)
        return is_regular_file(path) and self.is_safe(path)

    def present(self, key: str, name: str) -> bool:
        """A quick check that the file is there and not empty (a file a power loss cut to
        nothing counts as missing); for deciding whether to write it, not for serving it."""
        try:
            info = os.lstat(self.path(key, name))
        except OSError:
            return False
        return stat.S_ISREG(info.st_mode) and info.st_size > 0

    def touch(self, key: str, name: str) -> bool:
        """Set the file's mtime to now (a lease, see :mod:`.retention`); False if it is gone."""
        try:
            os.utime(self.path(key, name))
        except FileNotFoundError:
            return False
        return True

    def read_bytes(self, key: str, name: str) -> bytes | None:
        file = self.open_read(key, name)
        if file is None:
            return None
        with file:
            return file.read()

    def temp(self, label: str, name: str) -> tuple[int, pathlib.Path]:
        """A new temp file in the staging folder, open for writing: ``(fd, path)``."""
        while True:
            path = self.staging / staging.temp_name(label, name)
            try:
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _CLOEXEC | _BINARY | _NOFOLLOW
                return os.open(path, flags, 0o644), path
            except FileExistsError:  # pragma: no cover - 48 random bits collided
                continue

    @contextlib.contextmanager
    def write_atomic(self, key: str, name: str, *, durable: bool = False) -> t.Iterator[t.BinaryIO]:
        """A temp file, moved into place only when the block succeeds.

        Readers (other threads or processes) thus see either no file or a whole one; with
        ``durable``, the file is on disk once the block returns.
        """
        fd, temp = self.temp(key, name)
        try:
            with os.fdopen(fd, "wb") as file:
                yield file
                if durable:
                    file.flush()
                    fsync(file.fileno())
            self.install(temp, key, name, durable=durable)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise

    def install(self, temp: pathlib.Path, key: str, name: str, *, durable: bool) -> None:
        """Move a complete temp file (flushed to disk first when ``durable``) into place."""
        final = self.path(key, name)
        changed = self._make_directory(final.parent)
        os.replace(temp, final)
        if durable:
            for folder in (final.parent, *changed):
                fsync_directory(folder)

    def _make_directory(self, directory: pathlib.Path) -> list[pathlib.Path]:
        """Create a key's folder (and its prefix folder); the folders that got a new entry."""
        if directory.is_dir():
            return []
        changed = []
        for folder in (directory.parent, directory):
            with contextlib.suppress(FileExistsError):
                folder.mkdir()
                changed.append(folder.parent)
        return changed

    def sync(self, key: str, *names: str) -> None:
        """Flush the key's files among ``names`` that exist, then its folder and the folder
        holding it, to disk: they were written without ``durable`` and must now survive."""
        for name in names:
            try:
                fd = os.open(self.path(key, name), os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                fsync(fd)
            finally:
                os.close(fd)
        directory = self.directory(key)
        fsync_directory(directory)
        fsync_directory(directory.parent)

    def write_bytes(self, key: str, name: str, data: bytes, *, durable: bool = False) -> None:
        with self.write_atomic(key, name, durable=durable) as file:
            file.write(data)

    def remove(self, key: str, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(key, name))

    def to_trash(self, key: str) -> pathlib.Path | None:
        """Rename the key's folder into the trash (one atomic step: readers and writers in
        every process see the key whole or gone); its new path, None if it was gone."""
        self.trash.mkdir(exist_ok=True)
        target = self.trash / staging.temp_name(key, "key")
        try:
            os.rename(self.directory(key), target)
        except FileNotFoundError:
            return None
        return target

    def restore(self, trashed: pathlib.Path, key: str) -> bool:
        """Put a trashed key folder back; False when the key was stored again meanwhile."""
        try:
            os.rename(trashed, self.directory(key))
        except OSError:
            return False
        return True


def is_regular_file(path: str | os.PathLike[str]) -> bool:
    """A regular file, not a link (nor a folder, nor gone)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def fsync(fd: int) -> None:
    """``os.fsync``, off gevent's event loop: a flush to disk waits milliseconds on the device,
    and under gevent's worker that wait would stop every page of the process (an upload of 100
    files flushes 200 times). Threaded servers call it where they are."""
    offload(os.fsync, fd)


def fsync_directory(folder: pathlib.Path) -> None:
    """Make a folder's entries (a rename, a new file) durable; a no-op where folders cannot be
    opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY | _CLOEXEC)
    except (PermissionError, IsADirectoryError):  # pragma: no cover - not on POSIX
        return
    try:
        fsync(fd)
    finally:
        os.close(fd)
