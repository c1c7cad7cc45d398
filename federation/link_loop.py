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
import os
import threading

__all__ = ["acquire_loop", "release_loop"]

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_users = 0


def acquire_loop() -> asyncio.AbstractEventLoop:
    """The running loop of this process's links, started if none is; pair with
    :func:`release_loop`."""
    global _loop, _thread, _users
    with _lock:
        if _loop is None:
            loop = asyncio.new_event_loop()
            ready = threading.Event()
            thread = threading.Thread(
                target=_run, args=(loop, ready), name="fedlookup-peer-links", daemon=True
            )
            thread.start()
            ready.wait()
            _loop, _thread = loop, thread
        _users += 1
        return _loop


def release_loop() -> None:
    """Give the loop back; the last user stops it, joins its thread and closes it."""
    global _loop, _thread, _users
    with _lock:
        _users -= 1
        if _users > 0:
            return
        loop, thread = _loop, _thread
        _loop = _thread = None
        assert loop is not None
        assert thread is not None
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def _forget_in_child() -> None:
    """A forked child has no loop thread: the parent's loop is not its own."""
    global _lock, _loop, _thread, _users
    _lock, _loop, _thread, _users = threading.Lock(), None, None, 0


os.register_at_fork(after_in_child=_forget_in_child)


def _run(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    loop.run_forever()
