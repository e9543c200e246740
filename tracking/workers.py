"""Worker processes: one event loop each; with several, a supervisor deals out connections.

With N workers the supervisor owns the listening socket, accepts, and hands each connection to
the next worker in turn over a Unix socket (SCM_RIGHTS). SO_REUSEPORT, used before, lets the
kernel pick a worker by a hash of the client's address and port: a handful of keep-alive
clients (a few training jobs, a UI, a load generator with 4 connections) often landed 3-1 or
4-0 on two workers, leaving one core idle while the other queued (4-0 in 1 of 8 starts: half
the throughput). Dealt in turn, connections split evenly whatever their ports. A connection
costs one extra hand-over when it opens, nothing per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import os
import signal
import socket
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tracking.config import Settings

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger("tracking")


def _install_loop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    uvloop.install()


def run_worker(settings: Settings, channel: socket.socket | None = None) -> None:
    """Serve the app: on the port itself, or on the connections `channel` brings."""
    from aiohttp import web

    from tracking.app import create_app

    _install_loop()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(name)s %(message)s")
    app = create_app(settings)
    if channel is None:
        web.run_app(
            app,
            host=settings.host,
            port=settings.port,
            access_log=None,
            print=lambda msg: log.info(msg.strip()),
        )
        return
    asyncio.run(_serve_handed_over(app, channel))


async def _serve_handed_over(app: web.Application, channel: socket.socket) -> None:
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    server = runner.server
    assert server is not None  # set up above
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    opening: set[asyncio.Task[Any]] = set()

    def opened(task: asyncio.Task[Any]) -> None:
        opening.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.info("a handed-over connection failed to open: %s", task.exception())

    def receive() -> None:
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(channel, 64, 16)
            except BlockingIOError:
                return
            except OSError:
                data, fds = b"", []
            if not data and not fds:  # the supervisor is gone: so are new connections
                stop.set()
                loop.remove_reader(channel.fileno())
                return
            for fd in fds:
                conn = socket.socket(fileno=fd)
                conn.setblocking(False)
                task = loop.create_task(loop.connect_accepted_socket(server, conn))
                opening.add(task)
                task.add_done_callback(opened)

    channel.setblocking(False)
    loop.add_reader(channel.fileno(), receive)
    log.info("worker %d serving the connections the supervisor hands over", os.getpid())
    try:
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            loop.remove_reader(channel.fileno())
        await runner.cleanup()


def _listen(settings: Settings) -> list[socket.socket]:
    """A listening socket per address the host resolves to, as aiohttp's run_app binds."""
    listeners = []
    seen = set()
    for family, kind, proto, _, address in socket.getaddrinfo(
        settings.host, settings.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    ):
        if address in seen:
            continue
        seen.add(address)
        listener = socket.socket(family, kind, proto)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:  # as asyncio does: IPv4 gets its own socket
            listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        listener.bind(address)
        listener.listen(1024)
        listeners.append(listener)
    return listeners


def _deal(listener: socket.socket, channels: list[socket.socket], turns: Iterator[int]) -> None:
    """Accept forever; each connection goes to the next worker that takes it."""
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return  # the listener was closed: shutting down
        with conn:  # TCP (the listeners are SOCK_STREAM on IPv4/IPv6 addresses)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for _ in channels:
                channel = channels[next(turns) % len(channels)]
                try:
                    socket.send_fds(channel, [b"c"], [conn.fileno()])
                    break
                except OSError:  # a worker that died or stopped reading: the next one
                    continue


def supervise(settings: Settings) -> int:
    """Run N worker processes, deal connections to them in turn; stop them all on a signal."""
    listeners = _listen(settings)
    ctx = multiprocessing.get_context("spawn")
    channels: list[socket.socket] = []
    procs = []
    for i in range(settings.workers):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ours.setblocking(False)  # a full queue means a stuck worker: deal to the next one
        proc = ctx.Process(target=run_worker, args=(settings, theirs), name=f"worker-{i}")
        proc.start()
        theirs.close()
        channels.append(ours)
        procs.append(proc)
    turns = itertools.count()  # shared by the listeners' threads; next() holds the GIL
    for listener in listeners:
        threading.Thread(
            target=_deal, args=(listener, channels, turns), name="deal", daemon=True
        ).start()
    log.info("%d workers on %s:%d", len(procs), settings.host, settings.port)

    def stop(_signum: int, _frame: Any) -> None:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for proc in procs:
        proc.join()
    for listener in listeners:
        listener.close()
    return max((p.exitcode or 0) for p in procs)
