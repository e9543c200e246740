"""Sample CPU time and memory of process trees (server, database, load generator) from /proc."""

from __future__ import annotations

import bisect
import threading
import time
from dataclasses import dataclass, field

import psutil

MB = 1024 * 1024


@dataclass
class _Tree:
    """Cumulative CPU of one process tree: a process that exits keeps its last reading."""

    root: int
    cpu_by_process: dict[tuple[int, float], float] = field(default_factory=dict)

    def read(self) -> tuple[float, int, int]:
        try:
            root = psutil.Process(self.root)
            processes = [root, *root.children(recursive=True)]
        except psutil.Error:
            processes = []
        rss = pss = 0
        for process in processes:
            try:
                with process.oneshot():
                    key = (process.pid, process.create_time())  # pid reuse must not merge counters
                    times = process.cpu_times()
                    memory = process.memory_full_info()
            except psutil.Error:
                continue
            self.cpu_by_process[key] = times.user + times.system
            rss += memory.rss
            # PSS splits shared pages (postgres shared_buffers, forked workers) between sharers;
            # a plain RSS sum counts them once per process.
            pss += getattr(memory, "pss", memory.rss)
        return sum(self.cpu_by_process.values()), rss, pss


class _Machine:
    """Busy CPU of the whole machine, to see load we did not start.

    irq/softirq are left out: loopback TCP is processed there on behalf of the measured processes
    without being charged to them. steal stays in: a busy host takes cores from us too.
    """

    def read(self) -> tuple[float, int, int]:
        times = psutil.cpu_times()
        return times.user + times.nice + times.system + times.steal, 0, 0


@dataclass(frozen=True)
class Sample:
    t: float
    cpu_s: float
    rss: int
    pss: int


class ResourceSampler:
    """Samples named process trees every `interval` seconds on a thread until stopped."""

    def __init__(self, roots: dict[str, int], interval: float = 0.25) -> None:
        self._trees: dict[str, _Tree | _Machine] = {name: _Tree(pid) for name, pid in roots.items()}
        self._trees["machine"] = _Machine()
        self._samples: dict[str, list[Sample]] = {name: [] for name in self._trees}
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="resource-sampler", daemon=True)

    def __enter__(self) -> ResourceSampler:
        self._sample_once()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._sample_once()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample_once()

    def _sample_once(self) -> None:
        for name, tree in self._trees.items():
            now = time.monotonic()
            cpu, rss, pss = tree.read()
            self._samples[name].append(Sample(now, cpu, rss, pss))

    def window(self, t0: float, t1: float) -> dict[str, dict[str, float]]:
        """Per tree: CPU seconds spent in [t0, t1] (interpolated) and peak memory sampled in it."""
        out: dict[str, dict[str, float]] = {}
        for name, samples in self._samples.items():
            inside = [s for s in samples if t0 <= s.t <= t1] or _nearest(samples, (t0 + t1) / 2)
            out[name] = {
                "cpu_s": round(max(0.0, _cpu_at(samples, t1) - _cpu_at(samples, t0)), 3),
                "peak_rss_mb": round(max((s.rss for s in inside), default=0) / MB, 1),
                "peak_pss_mb": round(max((s.pss for s in inside), default=0) / MB, 1),
            }
        return out


def _cpu_at(samples: list[Sample], t: float) -> float:
    if not samples:
        return 0.0
    times = [s.t for s in samples]
    i = bisect.bisect_left(times, t)
    if i == 0:
        return samples[0].cpu_s
    if i == len(samples):
        return samples[-1].cpu_s
    before, after = samples[i - 1], samples[i]
    span = after.t - before.t
    share = (t - before.t) / span if span > 0 else 1.0
    return before.cpu_s + share * (after.cpu_s - before.cpu_s)


def _nearest(samples: list[Sample], t: float) -> list[Sample]:
    return [min(samples, key=lambda s: abs(s.t - t))] if samples else []
