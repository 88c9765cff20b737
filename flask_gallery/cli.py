"""``flask gallery ...``: commands for the app's media store, registered by ``init_app``.

``flask gallery clean`` deletes media nobody has used for ``GALLERY_MEDIA_TTL`` seconds, from a
process of its own (a cron job, a deploy step). It cannot see the servers' pages and jobs; the
servers renew a lease on everything those reference (see :mod:`.media.retention`), and this
command keeps the app's declared gallery values as well.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from .app_state import app_state
from .media.retention import SweepReport, sweep

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
