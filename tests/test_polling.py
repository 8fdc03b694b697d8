"""Poll timing decisions (pure: no I/O, no sleeping)."""

from __future__ import annotations

import itertools
import logging
import math
import random

import pytest

import nanobanana as nb
from nanobanana._durations import (
    LONG_WINDOW,
    MIN_OBSERVATIONS,
    PRICE_FLOOR,
    QUANTILES,
    WINDOW,
    DurationTracker,
    _History,
    profile,
)
from nanobanana._models import ImageStatus
from nanobanana._policy import DEFAULT_POLICIES
from nanobanana._polling import DEFAULT_TIMEOUTS, MIN_GAP, PollState, note_unknown_status


def _learned(key: str | None = None, kind: str = "image") -> DurationTracker:
    """A tracker past its first tasks: the 93% quantile of this profile is 15 s, so a
    first poll comes at 15 s, as with the default policy."""
    tracker = DurationTracker()
    for i in range(60):  # one in twenty still running at 15 s, and lasting 25 s
        tracker.record(kind, key, 15.0, 25.0 if i % 20 == 0 else None)
    return tracker


def _state(**kw: object) -> PollState:
    args: dict[str, object] = {
        "task_id": "t1",
        "kind": "image",
        "profile": None,
        "now": 100.0,
        "timeout": None,
        "policy": None,
        "submitted_at": 100.0,
        "tracker": _learned(),
        "rng": lambda: 0.5,
    }
    args.update(kw)
    return PollState(**args)  # type: ignore[arg-type]


def _running() -> ImageStatus:
    return ImageStatus(task_id="t1", status="pending", progress=40)


def test_defaults_differ_per_kind_and_poll_near_expected_completion() -> None:
    image, video = DEFAULT_POLICIES["image"], DEFAULT_POLICIES["video"]
    assert 10.0 <= image.initial_delay <= 20.0  # images take about 10-20 s
    assert 60.0 <= video.initial_delay <= 300.0  # videos about 1-5 min
    assert image.interval > 1.0 and video.interval > image.interval
    assert DEFAULT_TIMEOUTS == {"image": 600.0, "video": 1800.0}


def test_first_poll_comes_near_expected_completion_not_after_a_second() -> None:
    state = _state()
    assert 100.0 + 14.0 <= state.due <= 100.0 + 16.0


def test_jitter_stays_within_twenty_percent() -> None:
    policy = nb.PollPolicy(initial_delay=10.0, interval=4.0)
    for rng_value, poll in itertools.product((0.0, 0.25, 0.5, 0.999), range(6)):
        nominal = policy.nominal_delay(poll)
        assert 0.8 * nominal <= policy.delay(poll, lambda v=rng_value: v) <= 1.2 * nominal
    for rng_value in (0.0, 0.999):
        state = _state(rng=lambda v=rng_value: v)
        offset = state.due - 100.0
        assert 0.8 * 15.0 <= offset <= 1.2 * 15.0


def test_explicit_policy_is_followed_and_backs_off() -> None:
    policy = nb.PollPolicy(initial_delay=3.0, interval=2.0, backoff=2.0, max_interval=5.0)
    state = _state(policy=policy)
    assert state.due == pytest.approx(103.0)
    delays = []
    now = state.due
    for _ in range(4):
        assert state.after_poll(_running(), now, None) == "running"
        delays.append(round(state.due - now, 6))
        now = state.due
    assert delays == [2.0, 4.0, 5.0, 5.0]


def test_retry_after_on_a_status_response_wins() -> None:
    state = _state(policy=nb.PollPolicy(initial_delay=1.0, interval=1.0))
    state.after_poll(_running(), 101.0, 7.0)
    assert state.due == pytest.approx(108.0)


def test_due_never_passes_the_deadline() -> None:
    state = _state(timeout=5.0)
    assert state.due == pytest.approx(105.0)
    state.after_poll(_running(), 105.0, 60.0)
    assert state.due == pytest.approx(105.0)
    assert state.expired(105.0)


def test_unknown_id_is_polled_at_once() -> None:
    state = _state(submitted_at=None)
    assert state.due == 100.0


def test_outcomes_follow_notes_section_1() -> None:
    for value, outcome in [
        ("completed", "succeeded"),
        ("succeeded", "succeeded"),
        ("failed", "failed"),
        ("cancelled", "failed"),
        ("canceled", "failed"),
        ("timeout", "failed"),
        ("processing", "running"),
        ("queued-somewhere", "running"),
    ]:
        state = _state()
        assert state.after_poll(ImageStatus(task_id="t1", status=value), 120.0, None) == outcome


def test_profile_keeps_the_fields_that_change_durations_and_drops_the_prompt() -> None:
    body = {"prompt": "a cat", "model": "nano-banana-pro", "resolution": "4K", "num_images": 2}
    assert profile(body) == "nano-banana-pro|resolution=4K,num_images=2"
    assert (
        profile({"prompt": "a dog", "model_id": "veo-3.1", "duration": 8}) == "veo-3.1|duration=8"
    )
    assert profile({"prompt": "x"}) == "|"
    assert profile(None) is None


def test_a_new_profile_starts_from_the_kind_default_and_probes_its_first_tasks() -> None:
    tracker = DurationTracker()
    assert tracker.estimate("image", "m|") == DEFAULT_POLICIES["image"].initial_delay
    assert tracker.estimate("video", "v|") == DEFAULT_POLICIES["video"].initial_delay
    # The first MIN_OBSERVATIONS tasks of a profile are probes: first polled at 30-80% of
    # the estimate (rng 0.5: 55%), to learn the durations from their progress.
    firsts = [tracker.first_poll("image", "m|", lambda: 0.5) for _ in range(MIN_OBSERVATIONS)]
    assert firsts == [15.0 * 0.55] * MIN_OBSERVATIONS
    # Then no more probes until those have told something: the estimate.
    assert tracker.first_poll("image", "m|", lambda: 0.5) == 15.0


def test_the_first_poll_moves_to_the_quantile_of_the_durations_seen() -> None:
    # 64 tasks first polled at 10 s: 50 had ended, 14 ran on, lasting 11..24 s. The 93%
    # point is the 61st of the 64 durations, ceil((64 + 1) * 0.93): the order statistic
    # that a new task outlasts 7% of the time, whatever the distribution.
    tracker = DurationTracker()
    for _ in range(50):
        tracker.record("image", "m|", 10.0, None)
    for i in range(14):
        tracker.record("image", "m|", 10.0, 11.0 + i)
    assert tracker.estimate("image", "m|") == 21.0  # 3 tasks (22..24 s) last longer; at 20, 4
    # Other profiles of the model use the model's estimate until they have their own; other
    # models, the kind's (every model's tasks); a new tracker, the default.
    assert tracker.estimate("image", "m|resolution=4K") == 21.0
    assert tracker.estimate("image", "other|") == 21.0
    assert DurationTracker().estimate("image", "other|") == 15.0


def test_durations_that_shrink_bring_the_first_poll_down() -> None:
    # First polls at 20 s find every task ended, probes at 6 s find them ended too: the
    # tasks take under 6 s, and the estimate follows.
    tracker = DurationTracker()
    for _ in range(40):
        tracker.record("image", "m|", 20.0, None)
    assert tracker.estimate("image", "m|") == 20.0
    for _ in range(24):
        tracker.record("image", "m|", 6.0, None)
    assert tracker.estimate("image", "m|") == 6.0


def test_no_task_running_at_its_first_poll_makes_probes_come_back() -> None:
    tracker = DurationTracker()
    for _ in range(64):
        tracker.record("image", "m|", 20.0, None)
    low = iter([0.1, 0.5])  # the first draw decides to probe (0.1 < 0.3), the second where
    assert tracker.first_poll("image", "m|", lambda: next(low)) == 20.0 * 0.55
    # With first polls finding their task running (3 of 64: within the 7% the 93% point
    # allows), no probe: the estimate holds.
    steady = DurationTracker()
    for i in range(64):
        steady.record("image", "m|", 20.0, 25.0 if i % 22 == 0 else None)  # 3 of 64
    assert steady.first_poll("image", "m|", lambda: 0.1) == 20.0


def test_a_crowd_of_tasks_polled_late_says_nothing_about_sooner_points() -> None:
    # 1,000 tasks of a batch, first polled at 300 s (behind a queue), all ended: the
    # estimate is "by 300 s at the latest", not a runaway (the old tracker's failure).
    tracker = DurationTracker()
    for _ in range(1000):
        tracker.record("image", None, 300.0, None)
    assert tracker.estimate("image", None) == 300.0
    # Tasks ended by 8 s place the 93% point there once they are 14: the 14th of 14 is
    # the ceil((n + 1) * 0.93)-th duration (13 cannot tell it from a longer 14th).
    for _ in range(13):
        tracker.record("image", None, 8.0, None)
    assert tracker.estimate("image", None) == 300.0
    tracker.record("image", None, 8.0, None)
    assert tracker.estimate("image", None) == 8.0


def test_a_running_first_poll_teaches_the_duration_its_progress_projects() -> None:
    tracker = _learned("m|")
    state = _state(tracker=tracker, profile="m|")
    assert state.due == pytest.approx(115.0)
    # At 40% after 20 s: the task takes 20 * 100 / 40.5 s (the middle of what a rounded
    # down progress allows), recorded at once; the next poll comes at the latest end,
    # 20 * 100 / 40 = 50 s after submission.
    assert (
        state.after_poll(ImageStatus(task_id="t1", status="pending", progress=40), 120.0, None)
        == "running"
    )
    assert state.due == pytest.approx(150.0)
    history = tracker._histories[("image", "m|")]
    assert list(history._items)[-1] == (20.0, pytest.approx(2000.0 / 40.5), False, 0.0, 100.0)
    assert (
        state.after_poll(ImageStatus(task_id="t1", status="completed"), 150.0, None) == "succeeded"
    )
    assert len(history) == 61  # once per task


def test_without_progress_the_next_poll_uses_the_durations_seen() -> None:
    tracker = DurationTracker()
    for d in (30.0, 40.0, 50.0, 60.0):
        tracker.record("image", "m|", 10.0, d)
    state = _state(tracker=tracker, profile="m|")
    state.after_poll(ImageStatus(task_id="t1", status="pending"), 135.0, None)
    # Running 35 s in: the median of the longer durations seen (40, 50, 60) is 50 s.
    assert state.due == pytest.approx(150.0)
    # And when the task ends, it is learned as the middle of the last two polls.
    state.after_poll(ImageStatus(task_id="t1", status="completed"), 150.0, None)
    assert list(tracker._histories[("image", "m|")]._items)[-1] == (35.0, 42.5, False, 7.5, 100.0)


def test_a_progress_that_stalls_backs_off_instead_of_polling_in_a_loop() -> None:
    state = _state(tracker=_learned("m|"), profile="m|")
    now, gaps = 115.0, []
    for _ in range(4):  # 99% every time: the projection is always about now
        state.after_poll(ImageStatus(task_id="t1", status="pending", progress=99), now, None)
        gaps.append(round(state.due - now, 6))
        now = state.due
    # 0.5 s at least, doubling with every projection that fell short
    assert gaps == [0.5, 1.0, 2.0, 4.0]


def test_unknown_status_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="nanobanana")
    for _ in range(3):
        note_unknown_status("warming-up-xyz")
    note_unknown_status("pending")
    messages = [r.getMessage() for r in caplog.records if "warming-up-xyz" in r.getMessage()]
    assert len(messages) == 1


def test_the_priced_first_poll_trades_waiting_for_requests() -> None:
    # 64 tasks probed at 0.5 s, lasting 1, 2, ..., 64 s: every duration known. The
    # quantiles of the grid, the ceil(65 q)-th durations: 20% -> 13 s, 30% -> 20 s,
    # 40% -> 26 s, 50% -> 33 s, 60% -> 39 s.
    history = _History()
    for duration in range(1, 65):
        history.add(0.5, float(duration))
    assert [history.quantile(q) for q in QUANTILES[:5]] == [13.0, 20.0, 26.0, 33.0, 39.0]
    # At 30 s of waiting per request, J(t) = E[(t - D)+] + 30 * (1 - F(t)) from 13 s on:
    # 24 at 13 s; 1.75 + 21 at 20 s; 3.85 + 18 = 21.85 at 26 s (least); 7.0 + 15 at 33 s;
    # 10.3 + 12 at 39 s. About where F / f = t = 30 s, as for any uniform spread.
    assert history.priced(30.0) == (26.0, 0.4)
    # Requests for free: the soonest point; dear: the 98% one (the 64th: the longest).
    assert history.priced(0.0) == (13.0, 0.2)
    assert history.priced(1000.0) == (64.0, 0.98)


def test_one_price_sends_the_extra_polls_to_the_profile_where_they_save_most() -> None:
    # Nine images of 10-20 s for one video of 100-300 s, all durations known. Polling the
    # images at their 98% point and the video at its median finds 0.9 * 2% + 0.1 * 50% =
    # 6.8% of the tasks running, within the 7% budget: the video's first poll comes some
    # 100 s sooner at the cost of its extra requests, the images' ~1 s later.
    tracker = DurationTracker()
    for i in range(64):
        tracker.record("image", "img|", 0.5, 10.0 + 10.0 * i / 63)
        tracker.record("video", "vid|", 0.5, 100.0 + 200.0 * i / 63)
    rng = itertools.cycle([0.5]).__next__
    for _ in range(9):
        tracker.first_poll("image", "img|", rng)
    tracker.first_poll("video", "vid|", rng)
    # Of 64 durations, the 98% point is the 64th, the 50% one the 33rd.
    assert tracker.estimate("image", "img|") == pytest.approx(20.0)
    assert tracker.estimate("video", "vid|") == pytest.approx(100.0 + 200.0 * 32 / 63)
    price = tracker.price
    assert price is not None
    # The lowest price with that share: a little less, and one profile moves sooner.
    cheaper = price * 0.99
    image, video = tracker._histories[("image", "img|")], tracker._histories[("video", "vid|")]
    assert image.priced(price) == (pytest.approx(20.0), 0.98)
    assert video.priced(price) == (pytest.approx(100.0 + 200.0 * 32 / 63), 0.5)
    image_cheaper, video_cheaper = image.priced(cheaper), video.priced(cheaper)
    assert image_cheaper is not None and video_cheaper is not None
    assert 0.9 * (1 - image_cheaper[1]) + 0.1 * (1 - video_cheaper[1]) > 0.07


def test_a_single_profile_keeps_its_quantile_point_under_the_price() -> None:
    # One profile: the price settles where its own share is the budget, at the 93% point
    # (as before there was a price): the tracker of _learned, first polled at 15 s.
    tracker = _learned("m|")
    assert tracker.first_poll("image", "m|", lambda: 0.5) == 15.0
    assert tracker.price is not None
    assert tracker.estimate("image", "m|") == 15.0


def test_what_the_price_leaves_of_the_budget_moves_first_polls_sooner() -> None:
    # 59 tasks of 1..59 s, then 2 of 80 s and 3 of 81 s, all probed at 0.5 s: the grid's
    # 90%, 93%, 96% and 98% points (the 59th, 61st, 63rd and 64th durations) are 59, 80,
    # 81 and 81 s. From 59 to 80 s costs 21 s of waiting for 3% of the tasks; from 80 to
    # 81 s, 1 s for 3% more: past some price the cheapest point jumps from 59 to 81 s,
    # skipping 80. Within the 7% budget the lowest price puts it at 81 s (2% running); the
    # 5% left moves it to 80 s (7%): the 93% point, where a profile alone is polled without
    # a price.
    tracker = DurationTracker()
    durations = [*range(1, 60), 80, 80, 81, 81, 81]
    for duration in durations:
        tracker.record("image", "m|", 0.5, float(duration))
    history = tracker._histories[("image", "m|")]
    assert [history.quantile(q) for q in QUANTILES[-5:-1]] == [59.0, 80.0, 81.0, 81.0]
    assert tracker.first_poll("image", "m|", lambda: 0.5) == 80.0
    price = tracker.price
    assert price is not None
    assert history.priced(price) == (81.0, 0.98)
    assert history.quantile(tracker.quantile) == 80.0


def _ended(completed: float | None) -> ImageStatus:
    from datetime import datetime, timezone

    when = None if completed is None else datetime.fromtimestamp(completed, timezone.utc)
    return ImageStatus(task_id="t1", status="completed", completed_at=when)


SERVER = 1_700_000_000.0
"""The server's clock reads this much more than the client's (API seconds)."""


def test_a_task_found_ended_leaves_its_exact_duration_from_completed_at() -> None:
    tracker = _learned("m|")
    tracker.ended_at(_ended(SERVER + 50.0).completed_at, 50.0)  # a tight bound: SERVER
    state = _state(tracker=tracker, profile="m|")  # submitted at 100, first poll at 115
    # It ended at client 108.x (server second SERVER + 108): answered at 115.
    assert state.after_poll(_ended(SERVER + 108.0), 115.0, None) == "succeeded"
    first, duration, exact, _, _ = list(tracker._histories[("image", "m|")]._items)[-1]
    assert (first, exact) == (15.0, True)
    assert duration == pytest.approx(8.5, abs=0.01)  # the middle of its second (aged bound)
    assert tracker.exact


def test_an_unusable_completed_at_leaves_only_that_the_task_ended() -> None:
    for completed in (None, SERVER + 500.0):  # absent; or after the answer (inconsistent)
        tracker = _learned("m|")
        for i in range(8):  # offset: SERVER
            tracker.ended_at(_ended(SERVER + 50.0 + i).completed_at, 50.0 + i)
        state = _state(tracker=tracker, profile="m|")
        state.after_poll(_ended(completed), 115.0, None)
        last = list(tracker._histories[("image", "m|")]._items)[-1]
        assert last == (15.0, None, False, 0.0, 100.0)


def test_exact_durations_inform_every_point_and_a_change_forgets_the_older_ones() -> None:
    history = _History()
    for i in range(LONG_WINDOW):  # exact, first polled late: they tell about 10 s too
        history.add(60.0, 10.0 + (i % 10), exact=True, submitted=2.0 * i)
    assert len(history) == LONG_WINDOW  # stationary: the long window is kept
    assert history.quantile(0.5) == pytest.approx(15.0, abs=1.0)
    for i in range(2 * 8):  # durations double: a step, not a trend
        history.add(60.0, 20.0 + 2 * (i % 10), exact=True, submitted=2.0 * (LONG_WINDOW + i))
    assert len(history) <= 3 * 8  # cut at the change
    assert history.quantile(0.5) is not None and history.quantile(0.5) > 25.0  # type: ignore[operator]


def test_durations_that_drift_steadily_keep_the_window_and_read_as_they_are_now() -> None:
    # 300 tasks, two seconds apart, of 10-20 s stretched steadily by up to 2x: the rank
    # test on what the trend leaves keeps the whole window (a cut would leave a few dozen
    # tasks, too few to read a trend from), and the durations moved along the trend give
    # the 93% point of the newest tasks' durations, not of the window's middle.
    rng = random.Random(1)
    history = _History()
    for i in range(300):
        stretch = 1.0 + i / 300
        history.add(60.0, rng.uniform(10.0, 20.0) * stretch, exact=True, submitted=2.0 * i)
    assert len(history) == LONG_WINDOW
    now = 1.0 + 299 / 300
    assert history.quantile(0.93) == pytest.approx((10.0 + 0.93 * 10.0) * now, rel=0.03)


@pytest.mark.parametrize("n", [14, 20, 40, 64, 128])
def test_the_next_task_outlasts_the_93_percent_point_at_most_7_percent_of_the_time(
    n: int,
) -> None:
    # n durations drawn uniformly from 10-20 s, all known: a new task outlasts the
    # estimate with probability (20 - estimate) / 10. Averaged over 200 histories, that is
    # at most 7% (exactly (n + 1 - k) / (n + 1), k = ceil((n + 1) 0.93)) however few the
    # tasks, and near it once they are many: not the 1 in 6 of a point that trusts a few
    # tasks as if they were all.
    rng = random.Random(n)
    outlasted = []
    for _ in range(200):
        history = _History()
        for _ in range(n):
            history.add(0.5, rng.uniform(10.0, 20.0), exact=True)
        estimate = history.quantile(0.93)
        assert estimate is not None
        outlasted.append((20.0 - estimate) / 10.0)
    k = math.ceil((n + 1) * 0.93)
    assert sum(outlasted) / len(outlasted) == pytest.approx((n + 1 - k) / (n + 1), abs=0.01)
    assert sum(outlasted) / len(outlasted) <= 0.075


def test_censored_histories_use_the_last_window_only() -> None:
    history = _History()
    for _ in range(LONG_WINDOW):
        history.add(30.0, None)
    for _ in range(WINDOW):
        history.add(10.0, None)
    assert history.quantile(0.93) == 10.0


def test_a_date_header_is_read_as_whole_seconds_of_the_servers_clock() -> None:
    from nanobanana._protocol import parse_http_date

    # The three forms RFC 9110 has recipients accept, all GMT: the asctime one names no
    # zone, and is GMT all the same (not this machine's local time).
    for form in (
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
    ):
        when = parse_http_date(form)
        assert when is not None and when.timestamp() == 784111777.0, form
    for bad in (None, "", "yesterday", "Sun, 06 Nov 1994 25:49:37 GMT", "Mon, 01 Jan 99999"):
        assert parse_http_date(bad) is None


def test_a_retry_after_date_is_gmt_whatever_the_machines_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    from nanobanana._protocol import parse_retry_after

    if not hasattr(time, "tzset"):
        pytest.skip("no time.tzset on this platform")
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        for form in ("Sun, 06 Nov 1994 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"):
            assert parse_retry_after(form, now=lambda: 784111777.0 - 30.0) == 30.0, form
        assert parse_retry_after("Sun, 06 Nov 1994 25:49:37 GMT") is None
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_polls_date_reaches_the_tracker() -> None:
    tracker = _learned("m|")
    state = _state(tracker=tracker, profile="m|")
    from datetime import datetime, timezone

    date = datetime.fromtimestamp(SERVER + 114.0, timezone.utc)
    assert state.after_poll(_running(), 115.0, None, date) == "running"
    assert tracker._offset.offset(115.0) == pytest.approx(SERVER - 1.0)
    assert not tracker.exact  # (no completion time yet)


def test_a_date_bounds_the_clock_whatever_the_wait_polls_by() -> None:
    # A wait with its own policy, and one on a task id from elsewhere, learn nothing of
    # durations, but their answers' Date is a fact about the server's clock all the same.
    from datetime import datetime, timezone

    for kw in ({"policy": nb.PollPolicy(initial_delay=1.0, interval=2.0)}, {"submitted_at": None}):
        tracker = DurationTracker()
        state = _state(tracker=tracker, profile="m|", **kw)
        date = datetime.fromtimestamp(SERVER + 114.0, timezone.utc)
        assert state.after_poll(_running(), 115.0, None, date) == "running"
        assert tracker._offset.offset(115.0) == pytest.approx(SERVER - 1.0)
        assert ("image", "m|") not in tracker._histories  # (no duration learned)


def _exact(durations: list[float], spread: float = 0.5) -> DurationTracker:
    """A tracker that saw these 100 durations exactly, in a shuffled order (in the order
    given they would climb: a trend, ``_detrended``)."""
    tracker = DurationTracker()
    for duration in (durations[37 * i % len(durations)] for i in range(len(durations))):
        tracker.record("image", "m|", 30.0, duration, exact=True, spread=spread)
    return tracker


def test_durations_that_end_close_together_are_first_polled_at_their_top_once() -> None:
    # 2-5 s, each known exactly: the 93% point would leave 7% of the tasks for a second
    # poll, to save them a fifth of a second; at the floor price a request is worth more.
    # The first poll goes where every recent task had ended: one request a task.
    tracker = _exact([2.0 + 3.0 * i / 99 for i in range(100)], spread=0.0)
    assert tracker.first_poll("image", "m|", lambda: 0.5) == pytest.approx(5.0)
    history = tracker._histories[("image", "m|")]
    assert history.top() == pytest.approx(5.0)
    assert tracker.price == PRICE_FLOOR
    # 10-20 s known to the second (half a second either way): the top is 20.5 s, and
    # the 98% point, 0.6 s sooner, costs less at that price; either way, past the 93% one.
    wider = _exact([10.0 + 10.0 * i / 99 for i in range(100)])
    wide = wider._histories[("image", "m|")]
    assert wider.first_poll("image", "m|", lambda: 0.5) == wide.quantile(0.98)
    assert wide.quantile(0.98) > wide.quantile(0.93) and wide.top() == pytest.approx(20.5)


def test_a_long_tail_is_not_waited_out_for_its_top() -> None:
    # 90 tasks of 10-19 s and 10 of 40-130 s: the top is 130 s away, and a request is
    # worth far more than the floor price here: the first poll stays at the point that
    # keeps within the budget (as without a top or a floor).
    durations = [10.0 + i / 10 for i in range(90)] + [40.0 + 10.0 * i for i in range(10)]
    tracker = _exact(durations)
    history = tracker._histories[("image", "m|")]
    assert tracker.first_poll("image", "m|", lambda: 0.5) == history.quantile(0.93) == 70.0
    assert history.top() == pytest.approx(130.5)
    assert tracker.price is not None and tracker.price > 10 * PRICE_FLOOR


def test_the_top_is_unknown_without_exact_durations() -> None:
    # Tasks found ended by their first poll, with no completion time: how long the longest
    # took is not known, so no first poll waits for it.
    history = _History()
    for i in range(64):
        history.add(15.0, 16.0 if i % 20 == 0 else None)
    assert history.top() is None and history.quantile(1.0) is None
    assert history.priced(5.0) is not None


def test_a_negative_retry_after_is_no_hint_and_a_past_date_is_now() -> None:
    from nanobanana._protocol import parse_retry_after

    assert parse_retry_after("-5") is None
    assert parse_retry_after("-0.5") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=lambda: 2e9) == 0.0


def test_a_retry_after_of_zero_never_polls_without_pause() -> None:
    state = _state(policy=nb.PollPolicy(initial_delay=1.0, interval=1.0))
    state.after_poll(_running(), 101.0, 0.0)
    assert state.due == pytest.approx(101.0 + MIN_GAP)
    state.after_error(102.0, 0.0)
    assert state.due == pytest.approx(102.0 + MIN_GAP)
