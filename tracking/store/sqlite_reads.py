"""SQLite reads of one process take turns: one statement steps at a time.

Python's sqlite3 releases the GIL around every sqlite3_step, once per row, and aiosqlite runs
each connection in a thread of its own. Two reads fetching at once in one process are then two
threads handing the GIL back and forth on every row, each hand-over a futex wake-up and a
thread switch on the other core. Measured on a page of 50 runs (~800 rows) with four clients on
one worker: ~500 futex calls and ~20 ms of CPU per request instead of 6.6 ms, and under half the
throughput of the same reads taken in turn (64 vs 140 req/s). An asyncio lock makes the others
wait on the event loop instead, without a thread switch per row. It is a lock of one process's
CPU use, not of data: each read still runs on its own connection and snapshot.
"""

import asyncio
import weakref

_LOCKS: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]" = (
    weakref.WeakKeyDictionary()
)


def turn() -> asyncio.Lock:
    """The running loop's lock: hold it while a SQLite statement executes and fetches."""
    loop = asyncio.get_running_loop()
    lock = _LOCKS.get(loop)
    if lock is None:
        lock = _LOCKS[loop] = asyncio.Lock()
    return lock
