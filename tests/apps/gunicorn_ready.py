"""gunicorn settings for the test servers: each worker marks itself ready once it has loaded the
app, so a test starts only when every worker serves (the master listens before its workers have
booted, and on a busy machine a worker may take seconds to import the app)."""

from __future__ import annotations

import os
import typing as t
from pathlib import Path


def post_worker_init(worker: t.Any) -> None:
    folder = os.environ.get("FG_READY_DIR")
    if folder:
        (Path(folder) / str(worker.pid)).touch()
