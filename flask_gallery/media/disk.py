"""The store's files: where each key lives, atomic writes, and opening without escaping root.

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
import tempfile
import typing as t

from .ids import KEY_RE

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)


class Layout:
    """Paths of a store rooted at ``root``: ``<root>/<key[:2]>/<key>/<name>``."""

    def __init__(self, root: pathlib.Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.real_root = pathlib.Path(os.path.realpath(root))

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
        try:
            return stat.S_ISREG(os.lstat(path).st_mode) and self.is_safe(path)
        except OSError:
            return False

    def read_bytes(self, key: str, name: str) -> bytes | None:
        file = self.open_read(key, name)
        if file is None:
            return None
        with file:
            return file.read()

    @contextlib.contextmanager
    def write_atomic(self, key: str, name: str) -> t.Iterator[t.BinaryIO]:
        """A temp file in the key's directory, moved into place only when the block succeeds.

        Readers (other threads or processes) thus see either no file or a whole one.
        """
        final = self.path(key, name)
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=final.parent, prefix=".tmp-", suffix="-" + name)
        try:
            with os.fdopen(fd, "wb") as file:
                yield file
            os.replace(temp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise

    def write_bytes(self, key: str, name: str, data: bytes) -> None:
        with self.write_atomic(key, name) as file:
            file.write(data)

    def remove(self, key: str, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(key, name))
