"""The server's clock as the client knows it (``_server_clock.ClockOffset``): bounds from
completion times and ``Date`` headers, exact answers on the client's own numbers."""

from __future__ import annotations

import pytest

from nanobanana._server_clock import ClockOffset

SERVER = 1_700_000_000.0
"""The server's clock reads this much more than the client's (API seconds)."""


def test_the_clock_offset_is_the_tightest_bound_and_never_makes_ends_early() -> None:
    offset = ClockOffset()
    assert offset.offset(0.0) is None
    # Ended at client 10.3 (server whole second 10), answered at 12: bound SERVER - 2.
    assert offset.end(SERVER + 10.0, 12.0, None) == (12.0, 13.0)
    # A tighter one: ended at 20.2, answered at 20.4.
    early, late = offset.end(SERVER + 20.0, 20.4, None)
    assert (early, late) == pytest.approx((20.4, 21.4))
    assert offset.offset(20.4) == pytest.approx(SERVER - 0.4)
    # A looser bound later does not move it (beyond aging).
    offset.end(SERVER + 30.0, 35.0, None)
    assert offset.offset(35.0) == pytest.approx(SERVER - 0.4, abs=1e-2)


def test_one_wrong_completion_time_cannot_move_the_offset() -> None:
    offset = ClockOffset()
    for i in range(10):
        offset.end(SERVER + 10.0 * i, 10.0 * i + 0.5, None)
    offset.end(SERVER + 1000.0, 100.0, None)  # a bogus date: 900 s in the future
    assert offset.offset(100.0) == pytest.approx(SERVER - 0.5, abs=1e-2)


def test_a_poll_that_found_the_task_running_caps_the_offset() -> None:
    offset = ClockOffset()
    for i in range(3):
        offset.end(SERVER + 10.0 * i, 10.0 * i + 0.5, None)
    # The server clock stepped back 5 s: a task found running at 40 (due then) ended
    # at server second SERVER + 36 by the new clock: the offset is below SERVER - 4.
    early, late = offset.end(SERVER + 36.0, 41.0, 40.0)
    assert offset.offset(41.0) == pytest.approx(SERVER - 3.0)
    assert (early, late) == pytest.approx((39.0, 40.0))


def test_every_answers_date_bounds_the_clock_offset_not_only_completion_times() -> None:
    # First polls that come long after their tasks ended leave loose bounds (here 4 s):
    # every duration read from them would come out 4 s long, and keep first polls late.
    offset = ClockOffset()
    offset.end(SERVER + 10.0, 14.0, None)
    assert offset.offset(14.0) == pytest.approx(SERVER - 4.0)
    # The answers' Date: server second 20 answered at client 20.3, second 31 at 31.05.
    offset.date(SERVER + 20.0, 20.3)
    offset.date(SERVER + 31.0, 31.05)
    assert offset.offset(31.05) == pytest.approx(SERVER - 0.05, abs=1e-3)
    # A Date alone says nothing of durations: completion times are what tell them.
    dated = ClockOffset()
    dated.date(SERVER, 0.0)
    assert not dated.known and dated.offset(0.0) == SERVER
