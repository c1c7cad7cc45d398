"""The one asyncio event loop thread of a process's peer links (:mod:`federation.peer_link`).

Started by the first link and stopped, its thread joined and its loop closed, when the last
link closes, so a process that closes its transports keeps no thread behind. Every socket and
TLS object of every link lives on this one thread: asyncio's TLS runs OpenSSL over memory
buffers, and no OpenSSL object is ever touched by two threads.

Example::

    loop = acquire_loop()
    try:
        asyncio.run_coroutine_threadsafe(work(), loop).result()
    finally:
        release_loop()
"""

from __future__ import annotations

import asyncio
import threading

__all__ = ["acquire_loop", "release_loop"]

_lock = threading.Lock()
_state: dict[str, object] = {}
_users = 0


def acquire_loop() -> asyncio.AbstractEventLoop:
    """The running loop of this process's links, started if none is; pair with
    :func:`release_loop`."""
    global _users
    with _lock:
        if _users == 0:
            loop = asyncio.new_event_loop()
            ready = threading.Event()
            thread = threading.Thread(
                target=_run, args=(loop, ready), name="fedlookup-peer-links", daemon=True
            )
            thread.start()
            ready.wait()
            _state.update(loop=loop, thread=thread)
        _users += 1
        loop = _state["loop"]
        assert isinstance(loop, asyncio.AbstractEventLoop)
        return loop


def release_loop() -> None:
    """Give the loop back; the last user stops it, joins its thread and closes it."""
    global _users
    with _lock:
        _users -= 1
        if _users > 0:
            return
        loop, thread = _state.pop("loop"), _state.pop("thread")
        assert isinstance(loop, asyncio.AbstractEventLoop)
        assert isinstance(thread, threading.Thread)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def _run(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    loop.run_forever()
