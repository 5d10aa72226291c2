"""The ceiling: the least an aiohttp server on one process can do for these requests.

It reads the body, and answers a fixed chat.completion (or, when the body asks for a
stream, fixed SSE frames written one by one, paced by `x-mock-latency` like the mock).
No parsing, validation, tokenising or generation: what is left is aiohttp itself.

    python bench/ceiling.py --port 0 --reply reply.json
    -> "ceiling listening on http://127.0.0.1:PORT"
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from pathlib import Path

from aiohttp import web


def make_app(completion: bytes, frames: list[bytes]) -> web.Application:
    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if b'"stream":true' not in body:
            return web.Response(body=completion, content_type="application/json")
        ttft, per_token = _latency(request.headers.get("x-mock-latency", ""))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        if ttft:
            await asyncio.sleep(ttft)
        for frame in frames:
            await response.write(frame)
            if per_token:
                await asyncio.sleep(per_token)
        await response.write_eof()
        return response

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/__admin/health", health)
    app.router.add_post("/{tail:.*}", chat)
    return app


def _latency(header: str) -> tuple[float, float]:
    values = dict(part.split("=", 1) for part in header.replace(" ", "").split(",") if "=" in part)
    ttft = float(values.get("ttft_ms", 0)) / 1000
    rate = float(values.get("tokens_per_second", 0))
    return ttft, (1 / rate if rate > 0 else 0.0)


async def serve(port: int, reply: Path) -> None:
    data = json.loads(reply.read_text())
    completion = data["completion_body"].encode()
    frames = [frame.encode() for frame in data["frames"]]
    runner = web.AppRunner(make_app(completion, frames), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = runner.addresses[0][1]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"ceiling listening on http://127.0.0.1:{bound}", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--reply", type=Path, required=True)
    args = parser.parse_args()
    try:  # the same event loop as the mock gets, for a fair ceiling
        import uvloop
    except ImportError:
        asyncio.run(serve(args.port, args.reply))
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve(args.port, args.reply))


if __name__ == "__main__":
    main()
