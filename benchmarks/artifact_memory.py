"""Peak server memory while a large artifact goes up and comes back through the proxy.

    .venv/bin/python benchmarks/artifact_memory.py [--mib 1024] [--storage local|s3://bucket/p]

Starts `python -m tracking serve` on a throwaway SQLite database, uploads --mib MiB streamed
from a generator, downloads and hashes it, and prints the server's peak RSS (VmHWM) before and
after. For s3:// the endpoint and credentials come from the usual AWS/MLFLOW_S3 variables.
"""

import argparse
import asyncio
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

MIB = 1024 * 1024
PROXY = "/api/2.0/mlflow-artifacts/artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


async def blocks(total_mib: int) -> AsyncIterator[bytes]:
    block = os.urandom(MIB)
    for _ in range(total_mib):
        yield block


async def round_trip(url: str, pid: int, total_mib: int) -> dict[str, float]:
    async with aiohttp.ClientSession(url, timeout=aiohttp.ClientTimeout(total=None)) as s:
        (await s.put(f"{PROXY}/warm/up.bin", data=blocks(4))).raise_for_status()
        before = peak_rss_mib(pid)
        started = time.perf_counter()
        (await s.put(f"{PROXY}/1/big.bin", data=blocks(total_mib))).raise_for_status()
        uploaded = time.perf_counter()
        after_upload = peak_rss_mib(pid)
        digest, size = hashlib.sha256(), 0
        async with s.get(f"{PROXY}/1/big.bin") as resp:
            resp.raise_for_status()
            async for chunk in resp.content.iter_chunked(MIB):
                digest.update(chunk)
                size += len(chunk)
        downloaded = time.perf_counter()
        assert size == total_mib * MIB, size
        return {
            "peak_rss_before_mib": before,
            "peak_rss_after_upload_mib": after_upload,
            "peak_rss_after_download_mib": peak_rss_mib(pid),
            "upload_mib_s": total_mib / (uploaded - started),
            "download_mib_s": total_mib / (downloaded - uploaded),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--storage", default="local")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="artifact-memory-") as work:
        destination = f"{work}/art" if args.storage == "local" else args.storage
        port = free_port()
        argv = [sys.executable, "-m", "tracking", "serve", "--port", str(port)]
        argv += ["--backend-store-uri", f"sqlite:///{work}/db.sqlite"]
        argv += ["--artifacts-destination", destination]
        proc = subprocess.Popen(argv, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(url + "/health", timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            result = asyncio.run(round_trip(url, proc.pid, args.mib))
        finally:
            proc.terminate()
            proc.wait()
    print(f"{args.mib} MiB via {args.storage}:")
    for key, value in result.items():
        print(f"  {key}: {value:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
