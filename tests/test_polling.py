"""Poll timing decisions (pure: no I/O, no sleeping)."""

from __future__ import annotations

import itertools
import logging

import pytest

import nanobanana as nb
from nanobanana._models import ImageStatus
from nanobanana._polling import (
    DEFAULT_POLICIES,
    DEFAULT_TIMEOUTS,
    FirstPollTracker,
    PollState,
    note_unknown_status,
)


def _state(**kw: object) -> PollState:
    args: dict[str, object] = {
        "task_id": "t1",
        "kind": "image",
        "model": None,
        "now": 100.0,
        "timeout": None,
        "policy": None,
        "submitted_at": 100.0,
        "tracker": FirstPollTracker(),
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


def test_tracker_learns_the_durations_of_a_model() -> None:
    tracker = FirstPollTracker()
    start = tracker.estimate("image", "slow-model")
    # First polls keep finding the task still running: poll later.
    for _ in range(40):
        planned = tracker.estimate("image", "slow-model")
        tracker.observe("image", "slow-model", planned, planned, done=False)
    assert tracker.estimate("image", "slow-model") > 2 * start
    # Other models keep their own estimate.
    assert tracker.estimate("image", "fast-model") == start
    # Hits at the planned time pull it back down, slowly.
    high = tracker.estimate("image", "slow-model")
    for _ in range(40):
        planned = tracker.estimate("image", "slow-model")
        tracker.observe("image", "slow-model", planned, planned, done=True)
    assert tracker.estimate("image", "slow-model") < high


def test_tracker_ignores_hits_of_polls_delayed_behind_a_queue() -> None:
    tracker = FirstPollTracker()
    start = tracker.estimate("image", None)
    for _ in range(100):
        tracker.observe("image", None, start, start + 120.0, done=True)
    assert tracker.estimate("image", None) == start


def test_adapted_first_poll_is_used_by_the_next_wait() -> None:
    tracker = FirstPollTracker()
    for _ in range(30):
        planned = tracker.estimate("image", "m")
        tracker.observe("image", "m", planned, planned, done=False)
    state = _state(tracker=tracker, model="m")
    assert state.due - 100.0 > 1.5 * DEFAULT_POLICIES["image"].initial_delay


def test_unknown_status_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="nanobanana")
    for _ in range(3):
        note_unknown_status("warming-up-xyz")
    note_unknown_status("pending")
    messages = [r.getMessage() for r in caplog.records if "warming-up-xyz" in r.getMessage()]
    assert len(messages) == 1


def test_a_crowd_of_early_first_polls_does_not_run_the_estimate_away() -> None:
    # 1,000 tasks submitted together, all first-polled early and found still running:
    # one piece of information, not a thousand; the estimate stays near real durations.
    from nanobanana._polling import FirstPollTracker

    tracker = FirstPollTracker()
    start = tracker.estimate("image", None)
    for _ in range(1000):
        tracker.observe("image", None, planned=start, elapsed=start, done=False)
    grown = tracker.estimate("image", None)
    assert start < grown < 60.0
    for _ in range(1000):
        tracker.observe("image", None, planned=start, elapsed=start - 1.0, done=False)
    assert tracker.estimate("image", None) == grown
