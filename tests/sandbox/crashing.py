"""An experiment that dies on purpose, for the fault-injection tests.

It lives in a module of its own, importing only what it needs, so the worker
processes a sweep spawns import it quickly.
"""

import ctypes
import os
import signal
from dataclasses import dataclass

from sandbox import experiment as ex


@dataclass
class CrashConfig:
    seed: int = 0
    crash: str = "none"  # none | exit | kill | segv | raise: how the first attempt of this run ends


def crash_once(cfg: CrashConfig, run: ex.Run) -> dict:
    """Dies (or raises) the first time it runs in a folder; a rerun in the same folder succeeds."""
    marker = run.dir / "crashed-once"
    if cfg.crash != "none" and not marker.exists():
        marker.touch()
        if cfg.crash == "exit":
            os._exit(137)
        if cfg.crash == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if cfg.crash == "segv":
            ctypes.string_at(0)
        raise RuntimeError("raised, with a comma")
    return {"value": cfg.seed * 10.0}


CRASHES = ex.Experiment("crashes", "dies on purpose, once per folder", CrashConfig, crash_once)
