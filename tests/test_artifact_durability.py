"""Uploads are atomic and streamed: a broken or killed upload leaves nothing visible, and a
large artifact passes through the server without its memory growing with the file."""

import asyncio
import hashlib
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import Databases, start_server, stop_server
from tracking.artifacts.local import STAGING, LocalRepository

PROXY = "/api/2.0/mlflow-artifacts/artifacts"
MIB = 1024 * 1024


async def open_partial_upload(host: str, port: int, path: str, declared: int, sent: int):
    """A PUT that announces `declared` bytes and sends only `sent` of them."""
    reader, writer = await asyncio.open_connection(host, port)
    head = f"PUT {PROXY}/{path} HTTP/1.1\r\nHost: t\r\nContent-Length: {declared}\r\n\r\n"
    writer.write(head.encode())
    writer.write(os.urandom(sent))
    await writer.drain()
    return reader, writer


def staged_files(root: Path) -> list[Path]:
    return list((root / STAGING).iterdir()) if (root / STAGING).exists() else []


async def wait_for(condition) -> None:
    """Poll until `condition()` holds; a generous bound turns a hang into a failure."""
    async with asyncio.timeout(60):
        while not condition():  # noqa: ASYNC110 - the condition is on disk, not in this loop
            await asyncio.sleep(0.05)


async def test_client_disconnect_mid_upload_leaves_nothing(client, settings):
    root = Path(settings.artifacts_destination)
    _, writer = await open_partial_upload(
        "127.0.0.1", client.server.port, "1/r/artifacts/big.bin", 8 * MIB, 3 * MIB
    )
    await wait_for(lambda: bool(staged_files(root)))  # the upload is under way
    writer.close()
    await wait_for(lambda: not staged_files(root))  # and its leftovers are gone
    resp = await client.get(f"{PROXY}/1/r/artifacts/big.bin")
    assert resp.status == 404
    resp = await client.get(PROXY, params={"path": "1/r/artifacts"})
    assert await resp.json() == {}


async def test_interrupted_replacement_keeps_the_old_file(client, settings):
    await client.put(f"{PROXY}/1/r/artifacts/model.bin", data=b"version one")
    _, writer = await open_partial_upload(
        "127.0.0.1", client.server.port, "1/r/artifacts/model.bin", 4 * MIB, MIB
    )
    await wait_for(lambda: bool(staged_files(Path(settings.artifacts_destination))))
    writer.close()
    resp = await client.get(f"{PROXY}/1/r/artifacts/model.bin")
    assert await resp.read() == b"version one"


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_server_killed_mid_upload_leaves_no_visible_artifact(
    request, backend, tmp_path: Path
):
    dbs = Databases(request)
    uri = dbs.new(backend, tmp_path)
    server = start_server(uri, tmp_path)
    root = tmp_path / "mlartifacts"
    try:
        port = int(server.url.rsplit(":", 1)[1])
        _, writer = await open_partial_upload(
            "127.0.0.1", port, "1/r/artifacts/big.bin", 64 * MIB, 8 * MIB
        )
        await wait_for(lambda: any(p.stat().st_size for p in staged_files(root)))
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait()
        writer.close()
    finally:
        stop_server(server)

    server = start_server(uri, tmp_path)
    try:
        async with aiohttp.ClientSession(server.url) as session:
            resp = await session.get(f"{PROXY}/1/r/artifacts/big.bin")
            assert resp.status == 404
            resp = await session.get(PROXY, params={"path": "1/r/artifacts"})
            assert await resp.json() == {}
    finally:
        stop_server(server)
        dbs.drop_all()
    # The leftover is invisible; housekeeping (gc) removes it.
    assert staged_files(root)
    assert await LocalRepository(root).purge_incomplete(0) == 1
    assert not staged_files(root)


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


async def pattern(total: int) -> AsyncIterator[bytes]:
    block = hashlib.sha256(b"seed").digest() * (MIB // 32)
    for _ in range(total // MIB):
        yield block


async def test_large_artifact_streams_with_flat_memory(request, tmp_path: Path):
    """256 MiB up and down; the server's peak RSS grows by far less than the file."""
    total = 256 * MIB
    dbs = Databases(request)
    server = start_server(dbs.new("sqlite", tmp_path), tmp_path)
    try:
        async with aiohttp.ClientSession(server.url) as session:
            resp = await session.put(f"{PROXY}/warm/up.bin", data=pattern(4 * MIB))
            assert resp.status == 200
            before = peak_rss_kib(server.proc.pid)

            expected = hashlib.sha256()
            async for chunk in pattern(total):
                expected.update(chunk)
            resp = await session.put(f"{PROXY}/1/big.bin", data=pattern(total))
            assert resp.status == 200, await resp.text()

            got = hashlib.sha256()
            size = 0
            async with session.get(f"{PROXY}/1/big.bin") as resp:
                assert int(resp.headers["Content-Length"]) == total
                async for chunk in resp.content.iter_chunked(MIB):
                    got.update(chunk)
                    size += len(chunk)
            assert (size, got.hexdigest()) == (total, expected.hexdigest())
            growth_mib = (peak_rss_kib(server.proc.pid) - before) / 1024
            assert growth_mib < 64, f"peak RSS grew by {growth_mib:.0f} MiB for a 256 MiB file"
    finally:
        stop_server(server)
        dbs.drop_all()
