"""The freshness rule as bookkeeping (the end-to-end check with stage moves is in test_camera)."""

from __future__ import annotations

from pymodaq_plugins_scopeone.agent._fresh import FreshnessTracker, Grab


def test_fresh_at_the_second_new_frame_after_the_baseline() -> None:
    tracker = FreshnessTracker()
    tracker.add(Grab(arrival=1.0, deadline=10.0))
    assert tracker.needs_baseline
    assert tracker.observe(poll_sent=0.9, index=5) == 0  # poll sent before the grab arrived: no baseline
    assert tracker.observe(poll_sent=1.1, index=5) == 0  # baseline 5
    assert not tracker.needs_baseline
    assert tracker.observe(poll_sent=1.2, index=5) == 0
    assert tracker.observe(poll_sent=1.3, index=6) == 0  # may have started before the grab
    assert tracker.observe(poll_sent=1.4, index=6) == 0
    assert tracker.observe(poll_sent=1.5, index=7) == 1
    assert [g.arrival for g in tracker.take(1)] == [1.0]
    assert len(tracker) == 0


def test_shared_counter_gaps_do_not_make_a_frame_fresh_early() -> None:
    tracker = FreshnessTracker()
    tracker.add(Grab(arrival=0.0, deadline=10.0))
    tracker.observe(0.1, 10)
    assert tracker.observe(0.2, 12) == 0  # 11 went to another camera: 12 is only our first new frame
    assert tracker.observe(0.3, 14) == 1


def test_grabs_in_flight_are_served_in_order_by_the_same_frame_when_possible() -> None:
    tracker = FreshnessTracker()
    tracker.add(Grab(arrival=1.0, deadline=9.0))
    tracker.observe(1.01, 3)
    tracker.add(Grab(arrival=1.02, deadline=9.0))
    tracker.observe(1.03, 3)  # second grab gets the same baseline
    tracker.observe(1.05, 4)
    assert tracker.observe(1.07, 5) == 2


def test_a_later_grab_never_overtakes_an_earlier_one() -> None:
    tracker = FreshnessTracker()
    tracker.add(Grab(arrival=1.0, deadline=9.0))
    tracker.observe(1.01, 3)
    tracker.observe(1.02, 4)
    tracker.add(Grab(arrival=1.03, deadline=9.0))
    tracker.observe(1.04, 4)  # baseline 4 for the second
    assert tracker.observe(1.05, 5) == 1  # first fresh, second not yet
    tracker.take(1)
    assert tracker.observe(1.06, 6) == 1


def test_record_path_and_expiry_and_reset() -> None:
    tracker = FreshnessTracker()
    for arrival in (1.0, 2.0, 3.0):
        tracker.add(Grab(arrival=arrival, deadline=arrival + 5))
    assert tracker.arrived_before(2.5) == 2
    tracker.observe(3.5, 1)
    tracker.reset_baselines()
    assert tracker.needs_baseline
    late = tracker.expired(6.5)
    assert [g.arrival for g in late] == [1.0]
    assert [g.arrival for g in tracker.pending] == [2.0, 3.0]
