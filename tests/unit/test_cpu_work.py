"""CPU-bound request work runs on the CPU pool: one thread per usable CPU, the caller's
context variables seen, its exceptions raised to the caller, the loop free meanwhile."""

from __future__ import annotations

import asyncio
import contextvars
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
