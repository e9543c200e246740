"""The bar chart of throughput ratios (subject/peer per workload and backend), as a PNG."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

# The object API with no pyplot: no global backend or figure state, and Agg renders the PNG.
from matplotlib.figure import Figure

from benchmarks.comparison import ratio, rows, subject_and_peers


def chart(doc: dict[str, Any], path: Path) -> None:
    subject, peers = subject_and_peers(doc)
    labels = [f"{w} ({b})" for w, b in rows(doc)]
    if not peers or not labels:
        return
    height = 0.8 / len(peers)
    fig = Figure(figsize=(10, 1.2 + 0.38 * len(labels) * max(1, len(peers) / 1.5)))
    ax = fig.subplots()
    for i, peer in enumerate(peers):
        values = [ratio(doc, subject, peer, w, b) for w, b in rows(doc)]
        ys = [n + i * height for n in range(len(labels))]
        # Bars grow from 1.0 (parity) towards the ratio, left when the subject is slower.
        widths = [(v or 1.0) - 1.0 for v in values]
        ax.barh(ys, widths, left=1.0, height=height, label=f"{subject}/{peer}")
        for y, value in zip(ys, values, strict=True):
            text = "n/a" if value is None else f"{value:.2f}x"
            ax.text(
                (value or 1.0) * (1.08 if (value or 1.0) >= 1 else 0.92),
                y,
                text,
                va="center",
                ha="left" if (value or 1.0) >= 1 else "right",
                fontsize=7,
            )
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_yticks(
        [n + height * (len(peers) - 1) / 2 for n in range(len(labels))], labels, fontsize=8
    )
    ax.invert_yaxis()
    finite = [v for p in peers for w, b in rows(doc) if (v := ratio(doc, subject, p, w, b))]
    low = min([*finite, 1.0]) / 2
    high = max([*finite, 1.0]) * 2.5
    ax.set_xlim(10 ** math.floor(math.log10(low)), 10 ** math.ceil(math.log10(high)))
    ax.set_xlabel(f"throughput ratio {subject}/peer (log scale, >1: {subject} faster)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(
        f"{doc['meta'].get('started', '')}: median of "
        f"{doc['meta'].get('options', {}).get('repeats')} repeat(s)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
