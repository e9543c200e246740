"""Worker processes: one event loop each, N of them sharing the port under a supervisor."""

import logging
import multiprocessing
import signal
from typing import Any

from aiohttp import web

from tracking.config import Settings

log = logging.getLogger("tracking")


def _install_loop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    uvloop.install()


def run_worker(settings: Settings, reuse_port: bool) -> None:
    from tracking.app import create_app

    _install_loop()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(name)s %(message)s")
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        reuse_port=reuse_port,
        access_log=None,
        print=lambda msg: log.info(msg.strip()),
    )


def supervise(settings: Settings) -> int:
    """Run N worker processes sharing the port (SO_REUSEPORT); stop them all on a signal."""
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=run_worker, args=(settings, True), name=f"worker-{i}")
        for i in range(settings.workers)
    ]
    for proc in procs:
        proc.start()

    def stop(_signum: int, _frame: Any) -> None:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for proc in procs:
        proc.join()
    return max((p.exitcode or 0) for p in procs)
