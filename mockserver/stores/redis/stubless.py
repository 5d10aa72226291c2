"""Which sessions have no stubs, known in each process, so that a request asks Redis
only when there may be one (most requests of most sessions: none).

A process notes a session as stubless when Redis said so; the first stub added to an
empty session is told to every process (broadcast.py), which forgets the note and
acknowledges before the add answers. So once an admin call added a stub, every process
asks again. A note is kept only while the process is subscribed, and only if nothing was
told between asking and the answer (`epoch`), so an answer older than an add never
hides it. Removing stubs needs no message: a process that knows of none asks again.
"""

from __future__ import annotations

from collections import OrderedDict

from mockserver.stores.redis.broadcast import Broadcast

KEPT_SESSIONS = 4096


class StublessSessions:
    def __init__(self, broadcast: Broadcast) -> None:
        self.broadcast = broadcast
        self.sessions: OrderedDict[str, None] = OrderedDict()
        self.epoch = 0  # moved by every message and every (re)subscription
        self.added = broadcast.channel("stubs-added")
        broadcast.handlers[self.added] = self.on_added
        broadcast.on_subscribed.append(self.on_subscribed)
        broadcast.on_lost.append(self.forget_all)

    def known_empty(self, session: str) -> bool:
        return session in self.sessions

    def note_empty(self, session: str, epoch: int) -> None:
        """Redis said the session has no stubs, when asked at `epoch`."""
        if self.broadcast.following and epoch == self.epoch:
            self.sessions[session] = None
            while len(self.sessions) > KEPT_SESSIONS:
                self.sessions.popitem(last=False)

    async def tell_added(self, session: str) -> None:
        """The session's first stub: return once every process forgot its note."""
        await self.broadcast.tell(self.added, session)

    async def on_added(self, session: str) -> None:
        self.sessions.pop(session, None)
        self.epoch += 1

    async def on_subscribed(self) -> None:
        self.forget_all()

    def forget_all(self) -> None:
        self.sessions.clear()
        self.epoch += 1
