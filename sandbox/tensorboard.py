"""A run's metric series as TensorBoard scalars (``sandbox run NAME --tensorboard``).

Every row :meth:`sandbox.experiment.Run.log` records (what ``metrics.csv`` holds) becomes the
scalar ``SERIES/METRIC`` at its step, in ``RUN_DIR/tensorboard``; look at them with
``tensorboard --logdir runs``. It needs the optional ``tensorboard`` extra
(``pip install 'learning-sandbox[tensorboard]'``).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from pathlib import Path
from typing import Any

INSTALL = "pip install 'learning-sandbox[tensorboard]'"


def require_tensorboard() -> None:
    """A clear ValueError, before the run starts, when the extra is missing."""
    if importlib.util.find_spec("tensorboard") is None:
        raise ValueError(f"--tensorboard needs the tensorboard package; install it with {INSTALL}.")


def write_scalars(log_dir: str | Path, rows: Iterable[dict[str, Any]]) -> Path:
    """Write ``rows`` (dicts with ``series``, ``step``, ``metric``, ``value``) as one event file in
    ``log_dir``, replacing the event files an earlier call wrote there (a resumed run writes all its
    rows again, so nothing is shown twice). Returns the new event file."""
    require_tensorboard()
    from torch.utils.tensorboard import SummaryWriter

    log_dir = Path(log_dir)
    before = set(log_dir.glob("events.out.tfevents.*"))
    writer = SummaryWriter(log_dir=str(log_dir))
    try:
        for row in rows:
            writer.add_scalar(
                f"{row['series']}/{row['metric']}",
                float(row["value"]),
                global_step=int(row["step"]),
            )
    finally:
        writer.close()
    new = set(log_dir.glob("events.out.tfevents.*")) - before
    for old in before:
        old.unlink(missing_ok=True)
    return max(new, key=lambda p: p.stat().st_mtime)


def read_scalars(log_dir: str | Path) -> dict[str, list[tuple[int, float]]]:
    """``{tag: [(step, value), ...]}`` read back from the event files in ``log_dir``."""
    require_tensorboard()
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}
