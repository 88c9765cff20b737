"""The PNG files a benchmark's galleries show, made once (in parallel processes) into a folder
under the temp dir that later runs reuse: thousands of 1024x1024 PNGs take minutes to encode,
and what is measured is the server and the browser, not the encoder.
"""

from __future__ import annotations

import concurrent.futures
import os
import tempfile
import typing as t
from pathlib import Path


def cached_pngs(
    folder: str, pattern: str, count: int, write: t.Callable[[Path, int], None]
) -> list[Path]:
    """``count`` files named ``pattern.format(i)`` in the temp dir's ``folder``, those missing
    written by ``write(path, i)`` (a module-level function: it runs in worker processes). A
    ``write`` should save to a ``.part`` file and rename it, so an interrupted run leaves no
    half-written PNG for the next to take as made."""
    where = Path(tempfile.gettempdir()) / folder
    where.mkdir(exist_ok=True)
    paths = [where / pattern.format(i) for i in range(count)]
    missing = [(path, i) for i, path in enumerate(paths) if not path.exists()]
    if missing:
        print(f"generating {len(missing)} PNGs into {where} (once) ...", flush=True)
        workers = os.cpu_count() or 2
        with concurrent.futures.ProcessPoolExecutor(workers) as pool:
            chunk = max(1, len(missing) // (4 * workers))
            list(pool.map(write, *zip(*missing, strict=True), chunksize=chunk))
    return paths
