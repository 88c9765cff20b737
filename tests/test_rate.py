"""The token bucket that bounds what one client may do per second (the clicks of a socket)."""

from __future__ import annotations

import pytest

from flask_gallery.web.rate import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=10, burst=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now += 0.15  # one token back (and a half)
    assert [bucket.take() for _ in range(2)] == [True, False]
    clock.now += 60  # an idle minute fills the bucket, and no more
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]


@pytest.mark.parametrize(("rate", "burst"), [(0, 5), (-1, 5), (5, 0.5)])
def test_a_bucket_must_allow_something(rate: float, burst: float) -> None:
    with pytest.raises(ValueError, match="rate > 0 and burst >= 1"):
        TokenBucket(rate, burst)


@pytest.mark.parametrize("bad", [0, -5, "30", True])
def test_the_click_rate_setting_is_checked_at_init(bad: object) -> None:
    from flask import Flask

    from flask_gallery import FlaskGallery

    app = Flask("rate_check")
    app.config.update(SECRET_KEY="k", GALLERY_MAX_CLICKS_PER_SECOND=bad)
    with pytest.raises(ValueError, match="GALLERY_MAX_CLICKS_PER_SECOND must be a number"):
        FlaskGallery(app)
