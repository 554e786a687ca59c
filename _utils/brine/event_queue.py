"""
What Brine's host engines share between them (``brine_events`` for libvirt, ``brine_containers``
for Docker): the bounded queue that coalesces events per object, the pause between reconnection
attempts, and the resync a dropped event calls for.

Each engine's callbacks (or event reader) only put items in the queue; a worker takes them, reads
the object's state when it sends, and fires. So a burst of events about one object waits as one
item with the newest word, a slow read never holds up the source of events, and what does not fit
is counted and turned into one ``brine/host/<host>/resync``: the UI refetches that host.

Plain Python, no I/O.
"""

import collections
import queue
import threading

QUEUE_SIZE = 1000


def next_backoff(current, minimum, maximum):
    """Seconds to wait before the next reconnection attempt: ``minimum``, then doubling up to ``maximum``."""
    if current <= 0:
        return minimum
    return min(maximum, current * 2)


def dropped_reason(dropped):
    """The reason of the resync that follows ``dropped`` events the queue had no room for."""
    return f"{dropped} event(s) dropped: the engine's queue was full"


class CoalescingQueue:
    """
    Items waiting to be sent: at most ``size`` keys, one item per key (``key(item)``). A new
    item for a waiting key replaces it in place (the newest word wins, the key keeps its place
    in the line); a new key when ``size`` keys wait is dropped and counted (``take_dropped``),
    unless its key is in ``always`` (a close notice, a resync: they always get in).
    ``get``/``get_nowait`` raise ``queue.Empty`` like ``queue.Queue``.
    """

    def __init__(self, size, key, always=()):
        self.size = int(size)
        self.key = key
        self.always = frozenset(always)
        self.items = collections.OrderedDict()
        self.dropped = 0
        self.ready = threading.Condition()

    def put(self, item):
        key = self.key(item)
        with self.ready:
            if key in self.items or len(self.items) < self.size or key in self.always:
                self.items[key] = item
                self.ready.notify()
            else:
                self.dropped += 1

    def get(self, timeout=None):
        with self.ready:
            if not self.ready.wait_for(lambda: self.items, timeout):
                raise queue.Empty
            return self.items.popitem(last=False)[1]

    def get_nowait(self):
        return self.get(timeout=0)

    def qsize(self):
        with self.ready:
            return len(self.items)

    def take_dropped(self):
        with self.ready:
            dropped, self.dropped = self.dropped, 0
            return dropped
