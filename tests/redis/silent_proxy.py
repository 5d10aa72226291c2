"""A TCP proxy to Redis that can drop subscriptions silently, as a NAT or a cloud load
balancer drops an idle connection: the Redis side is closed (Redis forgets the
subscriber), the client side stays open and never gets another byte, no FIN, no RST."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class Link:
    """One client connection and its Redis side."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    subscribed: bool = False
    cut: bool = False


@dataclass
class SilentProxy:
    upstream_port: int
    port: int = 0
    links: list[Link] = field(default_factory=list)
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)

    @contextlib.contextmanager
    def running(self) -> Iterator[SilentProxy]:
        thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        thread.start()
        server = asyncio.run_coroutine_threadsafe(self.serve(), self.loop).result(10)
        try:
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(self.shut(server), self.loop).result(10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            thread.join(10)
            self.loop.close()

    async def shut(self, server: asyncio.Server) -> None:
        server.close()
        for link in self.links:
            link.client.close()
            link.upstream.close()
        pending = asyncio.all_tasks() - {asyncio.current_task()}
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def serve(self) -> asyncio.Server:
        server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server

    def cut_subscriptions(self) -> int:
        """Drop every subscribed connection silently; how many there were."""
        return asyncio.run_coroutine_threadsafe(self.cut(), self.loop).result(10)

    async def cut(self) -> int:
        dropped = [link for link in self.links if link.subscribed and not link.cut]
        for link in dropped:
            link.cut = True
            link.upstream.close()
        return len(dropped)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        link = Link(writer, up_writer)
        self.links.append(link)
        try:
            await asyncio.gather(
                self.pipe(reader, up_writer, link, watch=True),
                self.pipe(up_reader, writer, link, watch=False),
            )
        finally:  # a connection closed by either side (a renewed subscription's old one)
            if not link.cut:
                self.links.remove(link)

    @staticmethod
    async def pipe(
        source: asyncio.StreamReader, sink: asyncio.StreamWriter, link: Link, *, watch: bool
    ) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await source.read(65536):
                link.subscribed |= watch and b"SUBSCRIBE" in data.upper()
                if link.cut:
                    continue  # swallowed: the client hears nothing, ever
                sink.write(data)
                await sink.drain()
        if not link.cut:  # an end passed on; a cut link's client side stays open and silent
            sink.close()
