"""``flask gallery ...``: commands for the app's media store and its handler workers,
registered by ``init_app``.

``flask gallery clean`` deletes media nobody has used for ``GALLERY_MEDIA_TTL`` seconds, from a
process of its own (a cron job, a deploy step). It cannot see the servers' pages and jobs; the
servers renew a lease on everything those reference (see :mod:`.media.retention`), and this
command keeps the app's declared gallery values as well.
"""

from __future__ import annotations

import signal
import threading
import time

import click
from flask.cli import AppGroup

from .media.retention import SweepReport, sweep
from .web.app_state import app_state

gallery = AppGroup("gallery", help="The gallery media store (flask_gallery).")


@gallery.command("clean")
@click.option(
    "--dry-run", is_flag=True, help="Print what would be deleted, and the totals; delete nothing."
)
def clean(dry_run: bool) -> None:
    """Delete media unused for GALLERY_MEDIA_TTL seconds.

    Media a live page shows, a queued or running handler uses, or a gallery declares is never
    deleted: servers renew the lease of what they use every TTL/4.
    """
    state = app_state()
    ttl = state.config["GALLERY_MEDIA_TTL"]
    if ttl is None:
        raise click.UsageError(
            "GALLERY_MEDIA_TTL is not set, so servers do not mark the media they use and "
            "nothing can be deleted safely. Set it to the seconds unused media is kept (e.g. "
            "86400), restart the servers, and run this command again."
        )
    declared = state.media_in_use()
    report = sweep(state.media, ttl, declared, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    for removal in report.removed:
        click.echo(
            f"{verb} {removal.key}: {removal.files} file(s), {_size(removal.bytes)}, "
            f"unused for {removal.idle:.0f} s"
        )
    click.echo(_summary(report, ttl, dry_run))


@gallery.command("worker")
@click.option(
    "--grace",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds a stopping worker lets its running handlers finish.",
)
def worker(grace: float) -> None:
    """Run handlers from the shared queue without serving HTTP (needs GALLERY_QUEUE_URL).

    Web processes run handlers too unless GALLERY_RUN_HANDLERS = False; add workers for more
    handler capacity, or to keep handlers off the web servers. On SIGTERM or Ctrl+C it claims
    nothing more and lets what it runs finish for up to GRACE seconds (a second signal: at
    once), as gunicorn's graceful timeout does; what still runs then is cancelled (its pages
    are told), and what waits stays in the queue for the other processes.
    """
    state = app_state()
    if state.redis is None:
        raise click.UsageError(
            "flask gallery worker takes its jobs from Redis, and GALLERY_QUEUE_URL is not set: "
            "set it to the redis:// URL your web processes use (see README, Deployment)."
        )
    from .queue.redis_backend import RedisBackend
    from .queue.redis_client import shown

    state.redis.run_handlers = True  # what a worker is for, whatever the web processes do
    engine = state.engine()
    backend = engine.backend
    assert isinstance(backend, RedisBackend)
    signals = threading.Semaphore(0)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: signals.release())
    click.echo(f"flask_gallery worker: running handlers from {shown(state.redis.url)}")
    while not signals.acquire(timeout=1.0):
        pass
    backend.pause()
    deadline = time.monotonic() + grace
    if backend.running():
        click.echo(
            f"flask_gallery worker: stopping; {backend.running()} running handler(s) may "
            f"finish within {grace:g} s"
        )
    while backend.running() and time.monotonic() < deadline:
        if signals.acquire(timeout=0.1):
            break
    click.echo("flask_gallery worker: stopping")
    state.shutdown()


def _summary(report: SweepReport, ttl: float, dry_run: bool) -> str:
    verb = "Would delete" if dry_run else "Deleted"
    text = (
        f"{verb} {len(report.removed)} media ({_size(report.bytes)}); kept {report.in_use} "
        f"declared by the app and {report.recent} used in the last {ttl:.0f} s."
    )
    if report.orphans:
        text += f" Removed {report.orphans} leftover temp file(s) of stopped processes."
    return text


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} bytes"
    value, unit = count / 1024, "KiB"
    for bigger in ("MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}"
