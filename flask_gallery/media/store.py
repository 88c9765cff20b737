"""The content-addressed media store.

Files live under ``root`` by content key (identical media are stored once); the browser only
ever sees ids minted with the app's secret (:mod:`.ids`).

Speed: all ``postprocess`` waits for is hashing a numpy/PIL output's pixels (the items of a
large value in parallel). The rest happens after it returns:

- a writer thread persists the raw pixels to ``pixels.npy`` (3 MB per megapixel: on a busy disk
  that write alone can take longer than the hashing, so it is kept off the render), then the
  key's record, ``meta.json``;
- a request for a file not made yet makes it, or waits for the thread already making it
  (:class:`~.jobs.Once`), so nothing is encoded twice and no half-written file is ever served;
- with ``encode_ahead``, a background pool also encodes every item's grid thumbnail first, then
  the other widths, then the full file in ``format``, from the pixels still in memory. It is off
  by default: the browser asks for a thumbnail a few milliseconds after the page or result
  arrives, so encoding ahead gains little time, while it encodes every width and full file of
  every item, also those never shown (off-screen thumbnails load lazily, most items are never
  previewed), and keeps the codecs' working memory in its own threads.

Crash safety: a key's data (``pixels.npy`` or its full file) is complete on disk before its
record is, and a record whose data is missing counts as absent, so adding that content again
writes it again. Until the writer has run, a new key exists only in this process (it serves
it from memory) plus an empty marker in the staging folder, which tells another process sharing
the store to wait for it (up to :data:`PENDING_PIXELS_WAIT`) rather than answer 404; a marker
of a dead process means nothing and is removed at the next start. Uploads are durable before
they are answered (``durable=True``: each file is flushed to disk, then renamed, then its folder
flushed, data before record); other media is rebuilt from the value that made it.

Raw pixels are persisted, not only held in memory, so that a restart or another worker process
serving the thumbnail request can still encode them; they are deleted once the full file and
every thumbnail exist. Memory is bounded by :data:`FRESH_PIXELS_BUDGET`: past it, pixels are
written before ``postprocess`` returns.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import hashlib
import os
import pathlib
import stat
import threading
import time
import typing as t

from PIL import Image

from .budget import DecodeBudget
from .decode import decode_bytes, encode_bytes, map_large_images, scale_for_width
from .disk import Layout, fsync, is_regular_file
from .encode import FORMAT_FILES, encode_pixels, normalize_format
from .ids import content_key, key_from_id, mint_id, secret_bytes
from .item import MediaFormat, MediaItem, MediaVariant, PreprocessType
from .jobs import Once, Pool, logger
from .names import NAMED, name_is_signed, name_query, named_file
from .offload import offload
from .paths import ServedPaths
from .pixels import has_alpha, pixels_digest
from .probe import UNDECODABLE, orientation, probe_file
from .record import META, PIXELS, Record
from .staging import live_writer
from .thumbnails import LARGE, QUARTER_TURNS, shrink, thumbnail_bytes

if t.TYPE_CHECKING:
    from .pixels import Pixels
    from .uploads import FileTypes

#: Widths offered in srcset: 384 covers Gradio's ~300 px grid cells at 1x, 768 at 2x, 192
#: small cells (phones, many columns).
DEFAULT_THUMBNAIL_WIDTHS = (192, 384, 640, 960)
#: The width made first, so the grid can paint before the others exist.
DEFAULT_GRID_WIDTH = 384

#: The decode budget's lane for ordinary images, as a share of the budget, held beside it: a
#: 12-megapixel photo (36-48 MB decoded) fits the default's 64 MiB, so photos never wait
#: behind a decompression bomb, nor it behind them (:mod:`.budget`).
ORDINARY_IMAGES_SHARE = 0.25
#: Bytes of new raw pixels kept in memory until written and encoded; beyond it, postprocess
#: writes them before returning.
FRESH_PIXELS_BUDGET = 256 << 20
#: Seconds a request waits for a key another live process is still writing.
PENDING_PIXELS_WAIT = 5.0
_COPY_CHUNK = 1 << 20
_FILE_KEY_CACHE_SIZE = 4096
#: Paths :meth:`MediaStore.filepath` remembers (forgotten all at once past this many).
PATHS_KEPT = 4096
#: The name under which a key's thumbnails are made, one maker at a time.
_THUMBNAILS = "thumbnails"


@dataclasses.dataclass
class StoredFile:
    """An open stored file, ready to be sent."""

    file: t.BinaryIO
    size: int
    mime_type: str
    ext: str
    #: Content addressed, so it doubles as a strong validator.
    etag: str


class MediaStore:
    """Stores gallery media and hands out ids for it.

    :param root: Directory of the store, created if missing. Several processes may share it.
    :param secret: The app's secret; ids minted with another secret are refused.
    :param thumbnail_widths: The widths offered for grid thumbnails (srcset).
    :param grid_width: The thumbnail width made first in the background.
    :param background: Write new raw pixels in a writer thread after ``postprocess`` returns;
        when False they are written before it returns and no thread is started.
    :param encode_ahead: Also make thumbnails and full files in a background pool right away
        (needs ``background``); when False they are made on first request.
    :param workers: Threads of the background pool and of the pool that hashes a value's
        items; default: the number of cores, at most 4.
    :param keep_metadata: Store uploads with their metadata (EXIF, XMP, IPTC: locations,
        cameras, dates) instead of stripping it (:mod:`.strip`).
    :param served_paths: The files ``str``/``Path`` values may name (:mod:`.paths`); default:
        under ``root`` or the temp folder.
    :param leases: Renew a key's lease (its ``meta.json``'s mtime) whenever its content is
        added again, for a sweeper that deletes keys unused for a while (``GALLERY_MEDIA_TTL``).
    :param max_decode_bytes: The memory that full decodes and encodes may hold at once
        (:mod:`.budget`); ``None``: no limit.
    """

    def __init__(
        self,
        root: pathlib.Path | str,
        secret: str | bytes,
        *,
        thumbnail_widths: t.Iterable[int] = DEFAULT_THUMBNAIL_WIDTHS,
        grid_width: int = DEFAULT_GRID_WIDTH,
        background: bool = True,
        encode_ahead: bool = False,
        workers: int | None = None,
        keep_metadata: bool = False,
        served_paths: ServedPaths | None = None,
        leases: bool = False,
        max_decode_bytes: int | None = None,
    ) -> None:
        requested = tuple(thumbnail_widths)
        widths = tuple(sorted(set(requested)))
        if not widths or any(not isinstance(w, int) or w < 1 for w in widths):
            raise ValueError(f"thumbnail_widths must be positive ints; got {requested!r}.")
        self.layout = Layout(pathlib.Path(root))
        self.layout.remove_orphans()
        self.leases = leases
        self._secret = secret_bytes(secret)
        self.thumbnail_widths: tuple[int, ...] = widths
        self.grid_width = min(widths, key=lambda w: abs(w - grid_width))
        self.keep_metadata = keep_metadata
        self.served_paths = served_paths or ServedPaths.default(root)
        self._records: dict[str, Record] = {}
        self._file_keys: collections.OrderedDict[tuple[str, int, int, int], str] = (
            collections.OrderedDict()
        )
        self._file_keys_lock = threading.Lock()
        self._paths: dict[tuple[str, str | None], pathlib.Path] = {}
        self._once = Once()
        self._background = (
            Pool(workers, "flask_gallery-media") if background and encode_ahead else None
        )
        #: Writes raw pixels to disk after postprocess returned (IO, so one thread).
        self._writer = Pool(1, "flask_gallery-media-writer")
        self._write_later = background
        #: Separate from the background pool, so a render never queues behind thumbnails.
        self.converters = Pool(workers, "flask_gallery-convert")
        self._fresh: dict[str, Pixels] = {}
        self._fresh_bytes = 0
        self._fresh_lock = threading.Lock()
        #: Keys whose record is not on disk yet, and their marker in the staging folder.
        self._unwritten: dict[str, pathlib.Path] = {}
        self._closed = False
        self.decode_budget = DecodeBudget(max_decode_bytes, small_share=ORDINARY_IMAGES_SHARE)
        "Shared by every decode and encode of this store (uploads, thumbnails, handlers)."
        map_large_images()

    @property
    def root(self) -> pathlib.Path:
        return self.layout.root

    def close(self) -> None:
        """Stop background work: running jobs finish, queued ones are dropped (their files are
        made on first request, from the pixels persisted on disk). The store stays usable,
        making everything on demand."""
        self._closed = True
        self.converters.close()
        if self._background is not None:
            self._background.close()
        self._writer.close(cancel=False)  # pixels not yet on disk would be lost

    def join(self) -> None:
        """Wait for the queued background work (tests and benchmarks; a server never needs to)."""
        if self._background is not None:
            self._background.join()
        self._writer.join()

    def __enter__(self) -> MediaStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # The public pipeline; each step lives in the module named after it.

    def postprocess(self, value: t.Any, format: MediaFormat | str = "webp") -> list[MediaItem]:
        """Gallery value (list or None) -> items; see :func:`.convert.postprocess`."""
        from .convert import postprocess

        return postprocess(self, value, format)

    def preprocess(
        self, items: t.Sequence[MediaItem] | None, type: PreprocessType = "numpy"
    ) -> list[tuple[object, str | None]] | None:
        """Items -> what a handler receives; see :func:`.preprocess.preprocess`."""
        from .preprocess import preprocess

        return preprocess(self, items, type)

    def add_upload(
        self,
        stream_or_bytes: t.BinaryIO | bytes,
        filename: str | None,
        *,
        file_types: FileTypes = None,
        max_bytes: int,
        max_pixels: int,
    ) -> MediaItem:
        """Validate and store one uploaded file; see :func:`.uploads.add_upload`."""
        from .uploads import UploadLimits, add_upload

        limits = UploadLimits(file_types, max_bytes, max_pixels)
        item = add_upload(self, stream_or_bytes, filename, limits)
        self.warm([item])
        return item

    # Adding media.

    def add_pixels(
        self,
        pixels: Pixels,
        format: MediaFormat | str = "webp",
        *,
        caption: str | None = None,
        orig_name: str | None = None,
        durable: bool = False,
    ) -> MediaItem:
        """Store canonical pixels (see :mod:`.pixels`); the full file is encoded lazily.

        :param durable: Write the pixels and the record to disk before returning, flushed (an
            upload is answered only then); otherwise the writer thread writes them soon after.
        """
        name = normalize_format(format)
        key = content_key(pixels_digest(pixels, name))
        record = self._reuse(key)
        if record is None:
            ext, mime_type = FORMAT_FILES[name]
            record = Record(
                kind="image",
                source="pixels",
                ext=ext,
                mime_type=mime_type,
                width=int(pixels.shape[1]),
                height=int(pixels.shape[0]),
                has_alpha=has_alpha(pixels) and name != "jpeg",
            )
            if not durable and self._keep_fresh(key, pixels):
                self._queue_write(key, record)
            else:
                self._write_pixels(key, pixels, durable=durable)
                self._commit(key, record, durable=durable)
        elif durable:
            self._settle(key, record)
        return self._item(key, record, caption, orig_name)

    def add_file(
        self,
        path: str | os.PathLike[str],
        *,
        caption: str | None = None,
        orig_name: str | None = None,
        resolved: bool = False,
    ) -> MediaItem:
        """Copy a local file into the store; FileNotFoundError naming it if it is missing.

        Files are hashed while copied; a file already seen in this process (same real path,
        size, mtime and inode) is not read again. ``resolved``: ``path`` is already real
        (symlinks resolved), so it is not resolved again.
        """
        path = pathlib.Path(path)
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{str(path)!r} is not a regular file.")
        name = orig_name if orig_name is not None else path.name
        real = os.fspath(path) if resolved else os.path.realpath(path)
        seen = (real, info.st_size, info.st_mtime_ns, info.st_ino)
        with self._file_keys_lock:
            key = self._file_keys.get(seen)
        record = self._reuse(key) if key is not None else None
        if key is None or record is None:
            with open(path, "rb") as source:
                key, record = self._ingest(source, name, durable=False)
            with self._file_keys_lock:
                self._file_keys[seen] = key
                if len(self._file_keys) > _FILE_KEY_CACHE_SIZE:
                    self._file_keys.popitem(last=False)
        return self._item(key, record, caption, name)

    def add_bytes(
        self,
        data: bytes,
        name: str,
        *,
        caption: str | None = None,
        orig_name: str | None = None,
        durable: bool = False,
    ) -> MediaItem:
        """Store a file given as bytes; ``name``'s extension decides its type (as for paths),
        ``orig_name`` is what a download is called. ``durable``: on disk, flushed, before
        returning (uploads)."""
        key, record = self._ingest(_BytesSource(data), name, durable=durable)
        return self._item(key, record, caption, orig_name)

    def _ingest(
        self, source: t.BinaryIO | _BytesSource, name: str | None, *, durable: bool
    ) -> tuple[str, Record]:
        digest = hashlib.sha256(b"file:")
        fd, temp = self.layout.temp("ingest", "file")
        try:
            with os.fdopen(fd, "wb") as target:
                while chunk := source.read(_COPY_CHUNK):
                    digest.update(chunk)
                    target.write(chunk)
                key = content_key(digest.digest())
                record = self._reuse(key)
                if record is None and durable:
                    target.flush()
                    fsync(target.fileno())
            if record is None:
                record = probe_file(pathlib.Path(temp), name)
                self.layout.install(temp, key, record.full_name, durable=durable)
                self._commit(key, record, durable=durable)
            elif durable:
                self._settle(key, record)
        finally:
            if os.path.exists(temp):
                os.unlink(temp)
        return key, record

    def _commit(self, key: str, record: Record, *, durable: bool) -> None:
        """Write the record, which makes the key visible to every process: only ever once its
        data is complete on disk."""
        self.layout.write_bytes(key, META, record.to_json(), durable=durable)
        self._records[key] = record

    def _queue_write(self, key: str, record: Record) -> None:
        """Serve the new key from memory in this process, and have the writer thread put its
        pixels, then its record, on disk; a marker in the staging folder tells other processes
        sharing the store that it is coming."""
        with self._fresh_lock:
            if key in self._unwritten:  # the same picture twice in one value
                return
            fd, marker = self.layout.temp(key, "pending")
            os.close(fd)
            self._unwritten[key] = marker
        self._records[key] = record
        if self._writer.submit(functools.partial(self._persist, key, record)) is None:
            self._persist(key, record)  # closed meanwhile: write it now

    def _persist(self, key: str, record: Record, *, durable: bool = False) -> None:
        """Write a key's pixels (unless its full file was made from memory first), then its
        record. On failure, nothing of it stays: a later add of the content starts over."""
        try:
            self._once.run(
                (key, META),
                lambda: self._stored(key, record),
                lambda: self._write_record(key, record, durable=durable),
            )
        except BaseException:
            self._records.pop(key, None)
            self._forget_fresh(key)
            raise
        finally:
            with self._fresh_lock:
                marker = self._unwritten.pop(key, None)
            if marker is not None:
                marker.unlink(missing_ok=True)
        self._drop_pixels_when_done(key, record)  # every derived file may exist already
        if self._background is None:
            # Nothing is encoding them ahead: requests read the file (or the full file) now.
            self._forget_fresh(key)

    def _write_record(self, key: str, record: Record, *, durable: bool) -> None:
        pixels = self._fresh.get(key)
        if pixels is not None and not self.layout.exists(key, record.full_name):
            self._write_pixels(key, pixels, durable=durable)
        elif self.layout.exists(key, record.full_name):
            if durable:
                self.layout.sync(key, record.full_name)
        else:
            raise LookupError(f"Media {key!r} lost its pixels before they were written.")
        self._commit(key, record, durable=durable)

    def _settle(self, key: str, record: Record) -> None:
        """Make content stored earlier without ``durable`` durable now (an upload of it)."""
        if key in self._unwritten:
            self._persist(key, record, durable=True)
        self.layout.sync(key, PIXELS, record.full_name, META)

    def _stored(self, key: str, record: Record) -> bool:
        """The key's record and data are on disk (cheap checks, for deciding to write)."""
        return self.layout.present(key, META) and self._has_data(key, record)

    def _has_data(self, key: str, record: Record) -> bool:
        if self.layout.present(key, record.full_name):
            return True
        return record.source == "pixels" and self.layout.present(key, PIXELS)

    def _reuse(self, key: str) -> Record | None:
        """The record of content added again if its data is still stored, or being written by
        this process; its lease is renewed. None when it must be stored (again): never seen,
        deleted by a sweep, or its data lost in a crash."""
        record = self._records.get(key)
        if record is not None and key in self._unwritten:
            return record
        record = self.record(key)
        if record is None:
            return None
        alive = self.layout.touch(key, META) if self.leases else self.layout.present(key, META)
        if alive and self._has_data(key, record):
            return record
        self.forget(key)
        return None

    def renew(self, keys: t.Iterable[str]) -> int:
        """Renew the leases of keys in use (see ``leases``); how many were on disk. Keys gone
        from disk are forgotten, so adding their content again stores it again."""
        renewed = 0
        for key in keys:
            if key in self._unwritten:
                continue  # its record gets a fresh mtime when written
            if self.layout.touch(key, META):
                renewed += 1
            else:
                self.forget(key)
        return renewed

    def forget(self, key: str) -> None:
        """Drop what this process remembers of a key (its record), e.g. after a sweep deleted
        it, so nothing here believes it is still stored."""
        self._records.pop(key, None)

    def _item(
        self, key: str, record: Record, caption: str | None, orig_name: str | None
    ) -> MediaItem:
        return MediaItem(
            id=mint_id(self._secret, key),
            kind=record.kind,
            caption=caption,
            mime_type=record.mime_type,
            orig_name=orig_name,
            width=record.width,
            height=record.height,
            is_svg=record.is_svg,
            thumbnail_widths=self._item_widths(record),
        )

    def _item_widths(self, record: Record) -> tuple[int, ...]:
        if not record.thumbnailable or record.width is None:
            return ()
        return tuple(sorted({min(w, record.width) for w in self.thumbnail_widths}))

    # Looking media up.

    def key(self, media_id: object) -> str | None:
        """The content key of an id this store issued, else None (checked before any IO)."""
        return key_from_id(self._secret, media_id)

    def record(self, key: str) -> Record | None:
        """The key's record: one this process is writing, or one on disk with its data. A
        record whose data is missing (a crash, a sweep) counts as absent."""
        record = self._records.get(key)
        if record is None:
            data = self.layout.read_bytes(key, META)
            if data is None:
                return None
            try:
                record = Record.from_json(data)
            except (ValueError, TypeError):
                return None
            if not self._has_data(key, record):
                return None
            self._records[key] = record
        return record

    def _served_record(self, key: str | None) -> Record | None:
        """:meth:`record`, or, while another live process is still writing the key (a page it
        rendered asks this process for a thumbnail), that record once written, waiting up to
        :data:`PENDING_PIXELS_WAIT`. None at once when nobody is writing it."""
        if key is None:
            return None
        record = self.record(key)
        delay, deadline = 0.005, time.monotonic() + PENDING_PIXELS_WAIT
        while (
            record is None and time.monotonic() < deadline and live_writer(self.layout.staging, key)
        ):
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
            record = self.record(key)
        return record

    def item(
        self, media_id: str, caption: str | None = None, orig_name: str | None = None
    ) -> MediaItem:
        """The item for an id this store issued; LookupError otherwise. The store keeps no
        names (identical files uploaded by two users are one content): ``orig_name`` is what
        the caller knows this item as."""
        key = self.key(media_id)
        record = self._served_record(key)
        if key is None or record is None:
            raise LookupError(f"Unknown media id {media_id!r}.")
        return self._item(key, record, caption, orig_name)

    def name_query(self, media_id: str, name: str) -> str:
        """The signed query string that lets a download URL carry ``name`` for ``media_id``
        (:mod:`.names`)."""
        return name_query(self._secret, media_id, name)

    def name_is_signed(self, media_id: str, name: str, signature: str) -> bool:
        return name_is_signed(self._secret, media_id, name, signature)

    def filepath(self, media_id: str, name: str | None = None) -> pathlib.Path:
        """The full file of an item (encoded now if still pending); LookupError if unknown.

        With ``name`` (the item's original file name), the same file under that name with the
        extension of its type, as Gradio hands uploads to handlers (:func:`.names.named_file`).

        A handler asks for the same item on every click, so a path given once is given again
        after one ``lstat`` (still a regular file: not swept, not swapped for a link) instead of
        the checks of a first look; content keys never change what a path holds.
        """
        known = self._paths.get((media_id, name))
        if known is not None and is_regular_file(known):
            return known
        key = self.key(media_id)
        record = self._served_record(key)
        if key is None or record is None or not self._ensure_full(key, record):
            raise LookupError(f"Unknown media id {media_id!r}.")
        full = self.layout.path(key, record.full_name)
        path = (
            full
            if name is None
            else named_file(full, self.layout.directory(key) / NAMED, name, record.ext)
        )
        if len(self._paths) >= PATHS_KEPT:
            self._paths.clear()
        self._paths[media_id, name] = path
        return path

    def open(
        self, media_id: str, variant: MediaVariant = "full", width: int | None = None
    ) -> StoredFile | None:
        """Open one variant of an item for sending, or None when anything is unknown.

        A thumbnail of an item without thumbnails (SVG, video, animation) is its full file, so
        a grid that always asks for thumbnails still works.
        """
        try:
            return self._open(media_id, variant, width)
        except LookupError:  # deleted meanwhile (a sweep), or its writer failed: gone
            return None

    def _open(self, media_id: str, variant: MediaVariant, width: int | None) -> StoredFile | None:
        key = self.key(media_id)
        record = self._served_record(key)
        if key is None or record is None or variant not in ("full", "thumb"):
            return None
        target = self._thumbnail_width(record, width) if variant == "thumb" else None
        if variant == "thumb" and record.thumbnailable and target is None:
            return None
        if target is not None and self._decodable_thumbnail(key, record, target):
            name, ext = record.thumb_name(target), record.thumb_ext(target)
            mime_type = "image/webp" if ext == "webp" else "image/jpeg"
        else:
            if width is not None and (variant == "full" or width not in self.thumbnail_widths):
                return None
            if not self._ensure_full(key, record):
                return None
            name, ext = record.full_name, record.ext
            mime_type = record.mime_type or "application/octet-stream"
        file = self.layout.open_read(key, name)
        if file is None:
            return None
        size = os.fstat(file.fileno()).st_size
        etag = f"{key}-{name}"
        return StoredFile(file, size, mime_type, ext, etag)

    def _thumbnail_width(self, record: Record, width: int | None) -> int | None:
        if not record.thumbnailable or record.width is None:
            return None
        if width is None:
            width = self.grid_width
        if width not in self.thumbnail_widths and width not in self._item_widths(record):
            return None
        return min(width, record.width)

    # Making derived files: once, atomically, from memory when the pixels are at hand.

    def warm(self, items: t.Iterable[MediaItem]) -> None:
        """Queue the derived files of freshly stored ``items`` in the background pool.

        Every item's grid thumbnail first (what the page paints), then the other widths, then
        full files. Queued only after the whole value is stored, so that hashing the value (the
        part a render waits for) has the CPU to itself.
        """
        if self._background is None:
            return
        records = {}
        for item in items:
            key = self.key(item.id)
            record = self.record(key) if key is not None else None
            if key is not None and record is not None and record.thumbnailable:
                records[key] = record
        for key, record in records.items():
            self._submit(self._ensure_thumbnail, key, record, self._clamp(record, self.grid_width))
        for key, record in records.items():
            self._submit(self._ensure_thumbnail, key, record, *self._item_widths(record))
        for key, record in records.items():
            if record.source == "pixels":
                self._submit(self._ensure_full, key, record)

    def _submit(self, job: t.Callable[..., object], *args: t.Any) -> None:
        if self._background is not None:
            self._background.submit(functools.partial(job, *args))

    @staticmethod
    def _clamp(record: Record, width: int) -> int:
        return min(width, record.width or width)

    def _keep_fresh(self, key: str, pixels: Pixels) -> bool:
        """Hold new pixels in memory until written (and, encoding ahead, encoded), up to a byte
        budget; False when they must be written now instead."""
        if not self._write_later or self._closed:
            return False
        with self._fresh_lock:
            if key in self._fresh:  # the same picture twice in one value
                return True
            if self._fresh_bytes + pixels.nbytes > FRESH_PIXELS_BUDGET:
                return False
            self._fresh[key] = pixels
            self._fresh_bytes += pixels.nbytes
        return True

    def _write_pixels(self, key: str, pixels: Pixels, *, durable: bool) -> None:
        from numpy.lib import format as npy  # loaded already: pixels are numpy arrays

        with self.layout.write_atomic(key, PIXELS, durable=durable) as file:
            npy.write_array(file, pixels, allow_pickle=False)

    def _forget_fresh(self, key: str) -> None:
        with self._fresh_lock:
            pixels = self._fresh.pop(key, None)
            if pixels is not None:
                self._fresh_bytes -= pixels.nbytes

    def _ensure_thumbnail(self, key: str, record: Record, *widths: int) -> bool:
        """Make the thumbnails of ``widths`` unless they exist; True when they all do.

        One maker per key at a time: a request for another width of a key whose large source
        is being decoded waits for that decode, which makes every width (see
        :meth:`_make_thumbnails`), instead of decoding it again.
        """
        names = [record.thumb_name(width) for width in widths]

        def done() -> bool:
            return all(self.layout.exists(key, name) for name in names)

        self._once.run((key, _THUMBNAILS), done, lambda: self._make_thumbnails(key, record, widths))
        self._drop_pixels_when_done(key, record)
        return done()

    def _make_thumbnails(self, key: str, record: Record, widths: t.Sequence[int]) -> None:
        """The missing ones of ``widths`` from one decode of the source; when that decode is
        large, every missing width of the item, since decoding costs far more than resizing."""
        # One width (a request) is missing, or this would not run: no need to look again.
        missing = (
            tuple(widths) if len(widths) == 1 else self._missing_thumbnails(key, record, widths)
        )
        if missing:
            with self._thumbnail_source(key, record, missing) as (image, missing):
                self._write_thumbnails(key, record, image, missing)

    def _write_thumbnails(
        self, key: str, record: Record, image: Image.Image, widths: t.Iterable[int]
    ) -> None:
        for width in widths:
            webp = record.thumb_ext(width) == "webp"
            data = offload(thumbnail_bytes, image, width, record.has_alpha, webp)
            self.layout.write_bytes(key, record.thumb_name(width), data)

    def make_thumbnails_from(self, item: MediaItem, image: Image.Image) -> None:
        """Make every thumbnail of a large ``item`` from ``image``, its source decoded already
        (an upload, decoded to check it): made later, they would cost a second full decode.
        Small items keep making their widths on request."""
        key = self.key(item.id)
        record = self.record(key) if key is not None else None
        if key is None or record is None or not record.thumbnailable:
            return
        if decode_bytes(image) < LARGE:
            return

        def make() -> None:
            missing = self._all_missing(key, record)
            if missing:  # another process may have made them since
                shrunk = offload(shrink, image, max(missing), orientation(image), heavy=True)
                self._write_thumbnails(key, record, shrunk, missing)

        self._once.run((key, _THUMBNAILS), lambda: not self._all_missing(key, record), make)
        self._drop_pixels_when_done(key, record)

    def _missing_thumbnails(
        self, key: str, record: Record, widths: t.Iterable[int]
    ) -> tuple[int, ...]:
        return tuple(w for w in widths if not self.layout.exists(key, record.thumb_name(w)))

    def _all_missing(self, key: str, record: Record) -> tuple[int, ...]:
        return self._missing_thumbnails(key, record, self._item_widths(record))

    @contextlib.contextmanager
    def _thumbnail_source(
        self, key: str, record: Record, widths: tuple[int, ...]
    ) -> t.Iterator[tuple[Image.Image, tuple[int, ...]]]:
        """The source shrunk for ``widths`` (upright), and the widths to make from it, while
        its decode holds its share of the budget."""
        if record.source == "pixels":
            large = (record.width or 0) * (record.height or 0) * 4 >= LARGE
            if large:
                widths = self._all_missing(key, record) or widths
            with self._decoded_pixels(key, record) as pixels:
                if pixels is not None:
                    yield offload(shrink, pixels, max(widths), heavy=large), widths
                    return
        file = self.layout.open_read(key, record.full_name)
        if file is None:
            raise LookupError(f"Stored media {key!r} has no full file.")
        with file, Image.open(file) as image:
            large = decode_bytes(image) >= LARGE
            if large:
                widths = self._all_missing(key, record) or widths
            turned = orientation(image)
            scale_for_width(image, max(widths), rotated=turned in QUARTER_TURNS)
            with self.decode_budget.reserve(decode_bytes(image)):
                offload(image.load, heavy=large)
                shrunk = offload(shrink, image, max(widths), turned, heavy=large)
                if shrunk is not image:
                    image.close()  # the full decode's memory goes back before encoding
                yield shrunk, widths

    def _decodable_thumbnail(self, key: str, record: Record, width: int) -> bool:
        """Make the thumbnail; False when the stored file turns out undecodable past its
        header (a truncated upload of an app's own file), so the grid shows the file itself."""
        try:
            return self._ensure_thumbnail(key, record, width)
        except UNDECODABLE:
            logger.warning("Cannot make a thumbnail of media %s; serving the full file", key)
            return False

    def _ensure_full(self, key: str, record: Record) -> bool:
        name = record.full_name

        def make() -> None:
            channels = 4 if record.has_alpha else 3
            width, height = record.width or 0, record.height or 0
            cost = encode_bytes(width, height, channels, normalize_format(record.ext))
            with self._decoded_pixels(key, record, cost) as pixels:
                if pixels is not None:
                    data = offload(encode_pixels, pixels, record.ext, heavy=cost >= LARGE)
                    self.layout.write_bytes(key, name, data)

        if record.source != "pixels":
            return self.layout.exists(key, name)
        # Made already on every use but the first: one safe look at it, not two (a handler's
        # ``filepath`` comes here on every click).
        made = self.layout.exists(key, name)
        if not made:
            self._once.run((key, name), lambda: self.layout.exists(key, name), make)
        self._drop_pixels_when_done(key, record)
        return made or self.layout.exists(key, name)

    @contextlib.contextmanager
    def _decoded_pixels(
        self, key: str, record: Record, extra: int = 0
    ) -> t.Iterator[Pixels | None]:
        """The raw pixels of a key (see :meth:`_pixels`) while the budget holds what reading
        them takes (nothing when they are still in memory), plus ``extra`` for the work done
        with them."""
        cost = extra
        if key not in self._fresh:
            cost += (record.width or 0) * (record.height or 0) * (4 if record.has_alpha else 3)
        with self.decode_budget.reserve(cost):
            yield self._pixels(key, record)

    def _pixels(self, key: str, record: Record) -> Pixels | None:
        """The raw pixels of a key, or None when its full file exists instead."""
        fresh = self._fresh.get(key)
        if fresh is not None:
            return fresh
        file = self.layout.open_read(key, PIXELS)
        if file is not None:
            from numpy.lib import format as npy  # pixels another process, or a restart, wrote

            with file:
                return t.cast("Pixels", npy.read_array(file, allow_pickle=False))
        if self.layout.exists(key, record.full_name):
            return None
        raise LookupError(f"Stored media {key!r} has neither pixels nor a full file.")

    def _drop_pixels_when_done(self, key: str, record: Record) -> None:
        """Delete raw pixels once nothing needs them (the full file and all thumbnails exist).
        Pixels already gone (neither in memory nor on disk, as for every use of an item after
        its first) cost one ``lstat``, not a safe look at each derived file: a handler's
        ``filepath`` runs this on every click."""
        if record.source != "pixels" or not self._has_pixels(key):
            return
        if not self.layout.exists(key, record.full_name):
            return
        if all(self.layout.exists(key, record.thumb_name(w)) for w in self._item_widths(record)):
            self._forget_fresh(key)
            if self.layout.exists(key, PIXELS):
                self.layout.sync(key, record.full_name)  # about to be the only copy
                self.layout.remove(key, PIXELS)

    def _has_pixels(self, key: str) -> bool:
        """The key's raw pixels are in memory or have a file (of any kind: the careful checks
        before deleting it are :meth:`_drop_pixels_when_done`'s)."""
        return key in self._fresh or os.path.lexists(self.layout.path(key, PIXELS))


class _BytesSource:
    """Bytes read in chunks, like a file."""

    def __init__(self, data: bytes) -> None:
        self._view = memoryview(data)
        self._offset = 0

    def read(self, size: int) -> bytes:
        chunk = self._view[self._offset : self._offset + size]
        self._offset += len(chunk)
        return bytes(chunk)
