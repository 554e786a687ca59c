"""
What the host engines share (brine.event_queue): the backoff between reconnection attempts and
the bounded queue that coalesces per key. brine_events' and brine_containers' own keys are tested
with their engines (test_brine_events.py, test_container_events.py).
"""

import queue
import threading

import pytest

from brine import event_queue


def test_backoff_starts_at_the_minimum_and_doubles_up_to_the_maximum():
    delays, delay = [], 0
    for _ in range(7):
        delay = event_queue.next_backoff(delay, 1, 30)
        delays.append(delay)
    assert delays == [1, 2, 4, 8, 16, 30, 30]


def first(item):
    return item[0]


def test_an_item_for_a_waiting_key_replaces_it_in_its_place():
    items = event_queue.CoalescingQueue(5, first)
    for item in [("a", 1), ("b", 1), ("a", 2), ("c", 1), ("a", 3)]:
        items.put(item)
    assert items.qsize() == 3
    assert [items.get_nowait() for _ in range(3)] == [("a", 3), ("b", 1), ("c", 1)]


def test_a_full_queue_counts_what_it_drops_and_always_takes_the_always_keys():
    items = event_queue.CoalescingQueue(2, first, always=["resync"])
    for item in [("a", 1), ("b", 1), ("c", 1), ("d", 1), ("a", 2), ("resync", "x")]:
        items.put(item)
    assert items.take_dropped() == 2
    assert items.take_dropped() == 0
    assert [items.get_nowait() for _ in range(items.qsize())] == [("a", 2), ("b", 1), ("resync", "x")]


def test_get_waits_for_an_item_and_raises_empty_like_queue_queue():
    items = event_queue.CoalescingQueue(2, first)
    with pytest.raises(queue.Empty):
        items.get(timeout=0.01)
    with pytest.raises(queue.Empty):
        items.get_nowait()
    threading.Timer(0.05, items.put, [("a", 1)]).start()
    assert items.get(timeout=5) == ("a", 1)


def test_the_reason_of_a_resync_after_drops():
    assert event_queue.dropped_reason(3) == "3 event(s) dropped: the engine's queue was full"
