"""The shared core of the figures: figures that show themselves in notebooks, atomic PNG writes, image
grids, and the caption that says which records a figure was drawn from.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from ..results import record_key, write_bytes


class NotebookFigure(Figure):
    """A figure that shows itself as a PNG in Jupyter with any backend (IPython calls ``_repr_png_``)."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        return buf.getvalue()


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Write ``fig`` as PNG atomically (rendered in memory, then written and renamed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return write_bytes(path, buf.getvalue())


def frame_grid(rows: Sequence[tuple[str, Sequence[np.ndarray]]], title: str = "", panel: float = 1.5,
               captions: Sequence[Sequence[str]] | None = None) -> Figure:
    """Rows of images, each row labelled on its left; ``panel`` is an image's side in inches,
    ``captions`` (per row, per image) are written under the images."""
    n = max(len(images) for _, images in rows)
    fig = NotebookFigure(figsize=(panel * n + 1, (panel + 0.05 + 0.15 * bool(captions)) * len(rows)),
                         layout="constrained")
    axes = fig.subplots(len(rows), n, squeeze=False)
    for r, (ax_row, (label, images)) in enumerate(zip(axes, rows)):
        for j, ax in enumerate(ax_row):
            ax.set_xticks([])
            ax.set_yticks([])
            if j < len(images):
                ax.imshow(images[j])
                if captions:
                    ax.set_xlabel(captions[r][j], fontsize=7)
            else:
                ax.set_axis_off()
        ax_row[0].set_ylabel(label, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def figure_caption(records: Sequence[dict]) -> str:
    """Where a figure's numbers come from: for runs, the data (experiment, i.e. dataset and
    ``index.csv`` hash), the profile of each run and the hashes of the records (their JSON names
    in the store); for ``fsa bench`` records, the record's file, device, profile, start and commit."""
    from ..bench.report import store_name
    from ..report import profile_of
    from ..report.records import machines

    bench = [r for r in records if r.get("kind") == "bench"]
    records = [r for r in records if r.get("kind") != "bench"]
    if not records and not bench:
        return "No run recorded on this page's data yet."
    parts = []
    if records:
        experiments = sorted({str(r.get("experiment")) for r in records})
        profiles = sorted({profile_of(r["config"]) if "model" in r["config"] else f"{r['config']['feature_size']} px"
                           for r in records})
        made_on = machines(records)
        parts.append(f"Drawn from the results store: data {', '.join(experiments)} (dataset-index.csv hash), "
                     f"profile {', '.join(profiles)}, runs {', '.join(record_key(r) for r in records)}"
                     f"{', trained on ' + ', '.join(made_on) if made_on else ''}.")
    for b in bench:
        env = b["environment"]
        where = Path(b.get("result_path") or f"{store_name(b)}.json").name  # the name fsa.bench.save gives it
        parts.append(f"Drawn from the fsa bench record {where}: {env.get('device_name') or env['device']} "
                     f"({env['device']}, {env['threads']} threads), profile {b['profile']}, started {b['started_at']}, "
                     f"commit {str(env.get('git', {}).get('commit'))[:12]}.")
    return " ".join(parts)
