"""Work that holds a CPU for milliseconds, run off the event loop on one thread per CPU.

Counting a long prompt, generating arguments from a schema, matching a long request
against stubs: the loop must not freeze for them, so each runs on a thread. Not on
asyncio's default executor (CPU count + 4 threads): more threads encoding than CPUs
spend more CPU per encode and finish no sooner (the bench's W2d, distinct 20,000-token
prompts on 2 CPUs: 6.2 -> 5.1 ms of CPU a request, 266 -> ~315 req/s with this pool).
So this pool has as many threads as the process may use CPUs; the I/O on threads
(fixture files) keeps the default executor.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_pool: ThreadPoolExecutor | None = None
_pool_made = threading.Lock()


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, which a container's cpuset sets)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _forget_pool() -> None:
    """In a forked child: the parent's threads are not there, so a pool is made anew."""
    global _pool, _pool_made
    _pool, _pool_made = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def cpu_pool() -> ThreadPoolExecutor:
    """The process's pool (made on first use)."""
    global _pool
    if _pool is None:
        with _pool_made:  # in-process servers on threads of their own may race to make it
            if _pool is None:
                _pool = ThreadPoolExecutor(usable_cpus(), thread_name_prefix="mockserver-cpu")
    return _pool


async def off_loop(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`function(*args, **kwargs)` on the CPU pool, with the caller's context variables
    (as asyncio.to_thread runs it)."""
    context = contextvars.copy_context()
    work = functools.partial(function, *args, **kwargs)
    call = functools.partial(context.run, _raising_plainly, work, _name_of(function))
    return await asyncio.get_running_loop().run_in_executor(cpu_pool(), call)


# What a thread's work may raise through to its caller as it is; anything else not an
# Exception is a bug's or a native library's (a Rust panic is a BaseException).
_PASSED_THROUGH = (KeyboardInterrupt, SystemExit)


def _name_of(function: Callable[..., object]) -> str:
    # Its name only: the arguments (settings with keys, a request's body) are never told.
    return getattr(function, "__qualname__", type(function).__name__)


def _raising_plainly(work: Callable[[], T], name: str) -> T:
    """`work`'s result, or what it raised as an Exception the request's handler turns
    into Azure's 500. A StopIteration cannot be set on an asyncio future (the awaiting
    request would never be answered), nor can a BaseException be caught as a bug's."""
    try:
        return work()
    except StopIteration as error:
        raise RuntimeError(f"StopIteration escaped {name}") from error
    except Exception:
        raise
    except _PASSED_THROUGH:
        raise
    except BaseException as error:
        raise RuntimeError(f"{type(error).__name__} in {name}") from error
