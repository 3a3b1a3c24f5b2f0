"""What preparation carries over from the generator (synthetic data only): the per-frame true
intensity of every synthetic video, the per-frame conditions of the wild AFEW clips (shot, yaw,
pitch, occluded, missed), and the name of the conditions the set was made under. Real datasets have
none of them.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from .atomic import write_text
from .video import DataError

#: Raw name -> (prepared name, the columns it must have).
SIDECARS = {"synth_intensity.csv": ("intensity.csv", {"video_id", "frame", "intensity"}),
            "synth_conditions.csv": ("conditions.csv", {"video_id", "frame", "occluded", "missed", "yaw"})}


def copy_sidecars(raw: Path, out: Path, prepared: set[str]) -> dict[str, int]:
    """Copy the rows of the ``prepared`` videos of each sidecar the raw set has; the rows copied,
    as ``{"<prepared stem>_rows": n}`` (0 where the raw set has no such sidecar)."""
    return {f"{Path(target).stem}_rows": _copy(raw / name, out / target, columns, prepared)
            for name, (target, columns) in SIDECARS.items()}


def _copy(src: Path, target: Path, columns: set[str], prepared: set[str]) -> int:
    if not src.is_file():
        return 0
    with open(src, newline="") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not columns <= set(reader.fieldnames):
            raise DataError(f"{src}: expected columns {', '.join(sorted(columns))} (got {reader.fieldnames})")
        rows = [r for r in reader if r["video_id"] in prepared]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=reader.fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(target, buf.getvalue(), what=f"the {target.name} sidecar")
    return len(rows)


def generator_conditions(raw: Path) -> str | None:
    """The name of the wild conditions a generated set was made under (``afew7``, or with knobs off
    ``afew7-without-pose-talking``), from the ``conditions: <name> (...)`` line of its
    ``README.txt``; ``None`` for real data and for sets made under ``classic``, which name none."""
    readme = Path(raw) / "README.txt"
    found = re.search(r"^conditions: (\S+) \(", readme.read_text(), re.MULTILINE) if readme.is_file() else None
    return found.group(1) if found else None
