"""Which server files a gallery value may name: Gradio's ``allowed_paths`` and ``blocked_paths``.

A handler that builds a path from what a user typed (``f"outputs/{prompt}.png"``) would
otherwise serve any file the process can read (``prompt="../../../etc/passwd"``). So a ``str``
or ``Path`` value must resolve (symlinks followed, ``..`` collapsed) to a file under one of the
allowed folders, and under none of the blocked ones; blocked wins. The store is given the
folders as plain, already resolved paths: the app decides them (its root, instance and media
folders, the temp folder, ``GALLERY_ALLOWED_PATHS``).
"""

from __future__ import annotations

import os
import tempfile
import typing as t

#: How the default allowed folders are described to someone whose path was refused.
DEFAULT_DESCRIPTION = "the media folder and the temp folder"


class PathRefused(ValueError):
    """A value named a file outside the folders the app may serve; the message says how to
    allow it.

    ``str()`` names the path, for the log and the developer's traceback; :attr:`public` does
    not, for the page: the page's user may have typed the path, but a server path never goes
    to the browser (the handler may have built an absolute one, naming the server's folders).
    """

    def __init__(self, path: str, reason: str, item: int | None = None) -> None:
        self.path, self.reason, self.item = path, reason, item
        super().__init__(self._say(repr(path)))

    def _say(self, subject: str) -> str:
        where = "" if self.item is None else f"Gallery item {self.item}: "
        return f"{where}{subject} {self.reason}"

    @property
    def public(self) -> str:
        return self._say("the file")

    def at(self, item: int) -> PathRefused:
        """The same refusal, saying which item of the value it was."""
        return PathRefused(self.path, self.reason, item)


def _resolved(paths: t.Iterable[str | os.PathLike[str]]) -> tuple[str, ...]:
    return tuple(os.path.realpath(p) for p in paths)


class ServedPaths:
    """The folders (or single files) values may name files in.

    :param allowed: Files may lie in or under these (resolved once, here).
    :param blocked: Never these, nor anything under them, even inside ``allowed``.
    :param description: Names the allowed folders in refusals (the ones a user did not list
        themselves).
    """

    def __init__(
        self,
        allowed: t.Iterable[str | os.PathLike[str]],
        blocked: t.Iterable[str | os.PathLike[str]] = (),
        *,
        description: str = DEFAULT_DESCRIPTION,
    ) -> None:
        self.allowed = _resolved(allowed)
        self.blocked = _resolved(blocked)
        self.description = description
        self._allowed = _Folders(self.allowed)
        self._blocked = _Folders(self.blocked)

    @classmethod
    def default(cls, media_root: str | os.PathLike[str]) -> ServedPaths:
        """The store's own folder and the system temp folder, nothing else."""
        return cls([media_root, tempfile.gettempdir()])

    def resolve(self, path: str | os.PathLike[str]) -> str:
        """The real path of ``path`` when values may name it; :class:`PathRefused` otherwise."""
        real = os.path.realpath(path)
        if self._blocked.hold(real):
            raise PathRefused(
                os.fspath(path),
                "is in a folder listed in GALLERY_BLOCKED_PATHS, which this app must never serve.",
            )
        if not self._allowed.hold(real):
            raise PathRefused(
                os.fspath(path),
                f"is outside the folders this app may serve ({self.description}). Add its "
                "folder to GALLERY_ALLOWED_PATHS to serve it.",
            )
        return real


class _Folders:
    """Resolved folders, tested as strings in one call each (a render may check hundreds of
    paths; pathlib's ``is_relative_to`` costs ten times more)."""

    def __init__(self, folders: tuple[str, ...]) -> None:
        self._exact = frozenset(folders)
        self._prefixes = tuple(f if f.endswith(os.sep) else f + os.sep for f in folders)

    def hold(self, path: str) -> bool:
        """Whether ``path`` (resolved) is one of the folders or lies under one."""
        return path in self._exact or path.startswith(self._prefixes)
