"""CPU-bound request work runs on the CPU pool: one thread per usable CPU, the caller's
context variables seen, its exceptions raised to the caller, the loop free meanwhile."""

from __future__ import annotations

import asyncio
import contextvars
import os
import signal
import threading

import pytest

from mockserver.support.cpu_work import off_loop, usable_cpus

ASKED_BY: contextvars.ContextVar[str] = contextvars.ContextVar("asked_by", default="nobody")


def where(tag: str) -> tuple[str, str, str]:
    return tag, threading.current_thread().name, ASKED_BY.get()


async def test_runs_on_the_cpu_pool_with_the_callers_context() -> None:
    ASKED_BY.set("request 7")
    tag, thread, asked_by = await off_loop(where, "counted")
    assert (tag, asked_by) == ("counted", "request 7")
    assert thread.startswith("mockserver-cpu") and thread != threading.current_thread().name


async def test_the_pool_has_one_thread_per_usable_cpu() -> None:
    release = threading.Event()
    started: list[str] = []
    lock = threading.Lock()

    def hold() -> None:
        with lock:
            started.append(threading.current_thread().name)
        release.wait(30)

    waiting = [asyncio.ensure_future(off_loop(hold)) for _ in range(usable_cpus() + 2)]
    for _ in range(500):  # the loop stays free while the pool works: it gets here
        if len(started) >= usable_cpus():
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert len(started) == usable_cpus()  # the rest wait for a free thread
    release.set()
    await asyncio.gather(*waiting)
    assert len(started) == usable_cpus() + 2
    assert len(set(started)) <= usable_cpus()


async def test_an_exception_reaches_the_caller() -> None:
    def refuse() -> None:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        await off_loop(refuse)


async def test_a_forked_child_makes_a_pool_of_its_own() -> None:
    await off_loop(where, "parent")  # the parent's pool has a thread now
    child = os.fork()
    if child == 0:  # the child: its pool must work though the parent's threads are gone
        code = 1
        try:
            code = 0 if asyncio.run(asyncio.wait_for(off_loop(where, "child"), 10))[0] else 1
        finally:
            os._exit(code)
    for _ in range(300):  # bounded: 30 s
        finished, status = os.waitpid(child, os.WNOHANG)
        if finished:
            break
        await asyncio.sleep(0.1)
    else:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        pytest.fail("the child's work never ran")
    assert os.waitstatus_to_exitcode(status) == 0


class NativePanic(BaseException):
    """What a Rust library's panic is to Python (pyo3's PanicException): no Exception."""


def stops() -> None:
    next(iter(()))


def panics() -> None:
    raise NativePanic("called `Result::unwrap()` on an `Err` value")


async def test_a_stop_iteration_reaches_the_caller_as_an_exception() -> None:
    """Set on an asyncio future as it is, a StopIteration left the awaiting request
    waiting for good (asyncio refuses it and the future is never done)."""
    with pytest.raises(RuntimeError) as raised:
        await asyncio.wait_for(off_loop(stops), 30)
    assert isinstance(raised.value.__cause__, StopIteration)


async def test_a_native_panic_reaches_the_caller_as_an_exception() -> None:
    with pytest.raises(RuntimeError, match="NativePanic") as raised:
        await asyncio.wait_for(off_loop(panics), 30)
    assert isinstance(raised.value.__cause__, NativePanic)


def stops_holding(secret: str) -> None:
    next(iter(()))


async def test_what_the_work_was_given_is_never_in_the_error() -> None:
    """The error is logged: it names the function, never its arguments (the settings with
    their keys, a request's body)."""
    secret = "0123456789abcdef0123456789abcdef"
    with pytest.raises(RuntimeError) as raised:
        await asyncio.wait_for(off_loop(stops_holding, secret), 30)
    assert "stops_holding" in str(raised.value)
    assert secret not in str(raised.value)
