"""The calls of one script a process makes in one event-loop turn, sent as one call.

Each call a Lua script makes costs Redis ~1 us over the command's own work, and under
load a process answers ~10 requests a turn, each with a quota step and a journal record.
A script that takes a batch (the quota's STEP, the journal's RECORD) reads, checks and
writes its keys once for all of them. Calls with the same keys and the same leading
arguments (`head`) join one batch; each adds its own arguments (`items`) and is told its
own part of the one reply (`split`), or the call's failure, as its own call would have.

On an open pipelined line the batch is a late command (pipelined.py), made when the
turn's commands are written: no task and no turn of its own, so no caller waits longer
than a call of its own would. Without one (connecting, TLS, a cluster), a task sends it
in the next turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from mockserver.stores.redis.pipelined import Arg, HotScript

# Calls in one batch at most: Lua's `unpack` takes a few thousand values.
BATCH_CALLS = 256
# Once a batch's arguments pass this, later calls start another: a command past the
# pipelined line's MAX_UNSENT_BYTES fails whole, so turns of large journal entries (a body
# kept up to 1 MiB) go as they went one by one, each refused alone past that bound.
BATCH_BYTES = 1024 * 1024

Split = Callable[[Any, int], Any]  # the reply, a call's index: that call's part


def grouped(keys: Sequence[str], head: Sequence[Arg]) -> tuple[Arg, ...]:
    """What a batch's calls share: the keys' count, the keys, then the head."""
    return (len(keys), *keys, *head)


class Batch:
    """One turn's calls with the same keys and head, in the order they came."""

    __slots__ = ("callers", "group", "items", "loop", "sealed", "size")

    def __init__(self, group: tuple[Arg, ...]) -> None:
        self.loop = asyncio.get_running_loop()
        self.group = group  # its keys, then its head
        self.sealed = False  # its command made, or failed: later calls go in another
        self.items: list[Arg] = []
        self.size = 0  # the items' bytes, as their callers counted them
        self.callers: list[asyncio.Future[Any]] = []

    def add(self, items: Sequence[Arg], size: int) -> asyncio.Future[Any]:
        caller = self.loop.create_future()
        self.items += items
        self.size += size
        self.callers.append(caller)
        return caller

    def answer(self, reply: Any, split: Split) -> None:
        for index, caller in enumerate(self.callers):
            if caller.done():  # a caller that gave up (cancelled) takes nothing
                continue
            try:
                caller.set_result(split(reply, index))
            except Exception as unreadable:  # this caller's part alone: the others still
                caller.set_exception(unreadable)

    def fail(self, failed: BaseException) -> None:
        for caller in self.callers:
            if not caller.done():
                caller.set_exception(failed)


class BatchedScript:
    """A HotScript whose calls of one turn with the same keys and head go as one."""

    def __init__(self, script: HotScript, split: Split) -> None:
        self.script = script
        self.split = split
        self.open: dict[tuple[Arg, ...], Batch] = {}  # batches not yet sealed
        self.sending: set[asyncio.Task[None]] = set()  # held: a loop keeps weak references

    def __call__(
        self, group: tuple[Arg, ...], items: Sequence[Arg], size: int = 0
    ) -> asyncio.Future[Any]:
        """This call's part of the reply, once the batch it joins is answered. `group`:
        made by `grouped` (a caller keeps it: the same for every call of a deployment);
        `size`: the bytes of `items`' text, for BATCH_BYTES (numbers and words are short)."""
        batch = self.open.get(group)
        if batch is None or len(batch.callers) >= BATCH_CALLS or batch.size >= BATCH_BYTES:
            batch = self.open[group] = Batch(group)
            self.start(batch)
        return batch.add(items, size)

    def start(self, batch: Batch) -> None:
        line = self.script.line
        protocol = None if line is None else line.open_protocol()
        if protocol is None:
            asyncio.get_running_loop().call_soon(self.send, batch)
            return
        reply = protocol.send_late(lambda: ("EVALSHA", self.script.sha, *self.sealed(batch)))
        reply.add_done_callback(lambda done: self.replied(batch, done))

    def sealed(self, batch: Batch) -> tuple[Arg, ...]:
        """The batch's keys count, keys, head and items; later calls start another."""
        self.seal(batch)
        return (*batch.group, *batch.items)

    def seal(self, batch: Batch) -> None:
        batch.sealed = True
        if self.open.get(batch.group) is batch:
            del self.open[batch.group]

    def replied(self, batch: Batch, done: asyncio.Future[Any]) -> None:
        # Sealed first: a command that failed before it was made (the connection lost
        # before the turn was written) must take no later call, which nothing would send.
        self.seal(batch)
        if done.cancelled():
            batch.fail(RedisConnectionError("the call was cancelled"))
        elif (failed := done.exception()) is not None:
            batch.fail(failed)
        elif not isinstance(reply := done.result(), ResponseError):
            batch.answer(reply, self.split)
        elif str(reply).startswith("NOSCRIPT"):  # Redis forgot it: EVAL, by the task
            self.send(batch)
        else:
            batch.fail(reply)

    def send(self, batch: Batch) -> None:
        task = asyncio.ensure_future(self.send_now(batch))
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)
        task.add_done_callback(lambda _: self.given_up(batch))

    def given_up(self, batch: Batch) -> None:
        """After the task: callers still waiting (it was cancelled before its first step,
        the loop closing) fail, and the batch takes no more."""
        self.seal(batch)
        batch.fail(RedisConnectionError("the call was cancelled"))

    async def send_now(self, batch: Batch) -> None:
        """The batch's one call by HotScript (which EVALs a script Redis forgot). Never
        raises but for its own cancellation: each caller gets its part or the failure."""
        count, *rest = self.sealed(batch)
        keys = [str(key) for key in rest[: int(count)]]
        try:
            reply = await self.script(keys=keys, args=rest[int(count) :])
        except asyncio.CancelledError:  # the loop closing: no caller left waiting
            batch.fail(RedisConnectionError("the call was cancelled"))
            raise
        except Exception as failed:  # every caller raises it, as its own call would have
            batch.fail(failed)
        else:
            batch.answer(reply, self.split)
