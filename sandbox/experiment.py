"""Runs: settings, seeds, run directories, metrics, plots, summaries, and resume.

An experiment is a module with a settings dataclass and a ``run`` function::

    @dataclass
    class Config:
        seed: int = 0
        learning_rate: float = 0.1

    def run(cfg: Config, run: Run) -> dict:      # returns the headline numbers
        result = run.stage("fit", lambda: {...})  # skipped on resume once done
        run.log("gd", step=1, loss=0.5)           # -> metrics.csv
        run.save_plot(fig, "loss")                # -> loss.png
        return {"mse": 0.01}                      # -> summary.json

    EXPERIMENT = Experiment("my-exp", "one line", Config, run)

Modules are found through the ``sandbox.experiments`` entry-point group (the
built-in ``experiments`` package is one), so ``sandbox`` never imports a
learner by name. Every file the run writes goes through :mod:`sandbox.files`
and is atomic.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import fcntl
import importlib
import importlib.metadata
import io
import json
import os
import pkgutil
import platform
import sys
import time
import traceback
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.checks import close_matches
from sandbox.files import atomic_write_bytes, atomic_write_json, atomic_write_text, to_jsonable

ENTRY_POINT_GROUP = "sandbox.experiments"


@dataclass(frozen=True)
class Experiment:
    """An experiment the CLI can run.

    name : what users type after ``sandbox run``
    summary : one line for ``sandbox list``
    config : a dataclass type whose fields (all with defaults, one named ``seed``) are the settings
    run : ``run(config, run) -> dict`` of headline numbers
    tour : settings overrides for ``sandbox run tour`` (kept short); None leaves it out of the tour
    tour_order : position in the tour
    headline : summary keys the tour's table shows
    paradigm : supervised, unsupervised, reinforcement, planning... (shown by ``sandbox list`` and the tour)
    """

    name: str
    summary: str
    config: type
    run: Callable[[Any, Run], dict[str, Any]]
    tour: dict[str, Any] | None = None
    tour_order: int = 100
    headline: tuple[str, ...] = ()
    paradigm: str = ""

    def __post_init__(self) -> None:
        if not dataclasses.is_dataclass(self.config):
            raise TypeError(f"experiment {self.name!r}: config must be a dataclass type.")
        names = {f.name for f in dataclasses.fields(self.config)}
        if "seed" not in names:
            raise TypeError(f"experiment {self.name!r}: its config needs a 'seed' field.")
        if self.tour:
            unknown = set(self.tour) - names
            if unknown:
                raise TypeError(f"experiment {self.name!r}: tour overrides unknown settings {sorted(unknown)}.")


# ------------------------------------------------------------------ registry


def discover() -> dict[str, Experiment]:
    """Every experiment reachable through the entry-point group, by name."""
    found: dict[str, Experiment] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        module = importlib.import_module(ep.value)
        modules = [module]
        if hasattr(module, "__path__"):
            modules += [importlib.import_module(m.name) for m in pkgutil.iter_modules(module.__path__, module.__name__ + ".")]
        for mod in modules:
            for obj in vars(mod).values():
                if isinstance(obj, Experiment):
                    found.setdefault(obj.name, obj)
    return dict(sorted(found.items()))


def get(name: str) -> Experiment:
    experiments = discover()
    if name not in experiments:
        hint = close_matches(name, experiments)
        did = f" Did you mean {' or '.join(map(repr, hint))}?" if hint else ""
        raise ValueError(f"unknown experiment {name!r}.{did} Known: {', '.join(experiments)}.")
    return experiments[name]


# ------------------------------------------------------------------ settings


def parse_value(key: str, text: str, annotation: Any) -> Any:
    """Convert the text of ``--set key=text`` to the field's type, or say what was expected."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and text.lower() in ("none", "null"):
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return parse_value(key, text, arg)
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError(errors[0] if errors else f"--set {key}={text!r}: cannot parse.")
    if origin is typing.Literal:
        if text in args:
            return text
        raise ValueError(f"--set {key}={text!r}: expected one of {', '.join(map(str, args))}.")
    if origin is tuple:
        item = args[0] if args else str
        parts = [p for p in text.replace(" ", "").strip("()[]").split(",") if p != ""]
        return tuple(parse_value(key, p, item) for p in parts)
    if annotation is bool:
        low = text.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"--set {key}={text!r}: expected a boolean (true/false).")
    if annotation is int:
        try:
            return int(text.replace("_", ""))
        except ValueError:
            raise ValueError(f"--set {key}={text!r}: expected an integer.") from None
    if annotation is float:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"--set {key}={text!r}: expected a number.") from None
    if annotation is str:
        return text
    raise ValueError(f"--set {key}: settings of type {annotation} cannot be set from the command line.")


def make_config(exp: Experiment, *, seed: int | None = None, sets: list[str] | dict[str, Any] = ()) -> Any:
    """The experiment's settings with ``seed`` and each ``key=value`` override applied, type-checked."""
    hints = typing.get_type_hints(exp.config)
    known = [f.name for f in dataclasses.fields(exp.config)]
    values: dict[str, Any] = {}
    items = sets.items() if isinstance(sets, dict) else [_split(s) for s in sets]
    for key, raw in items:
        if key not in known:
            hint = close_matches(key, known)
            did = f" Did you mean {' or '.join(map(repr, hint))}?" if hint else ""
            raise ValueError(f"unknown setting {key!r} for experiment {exp.name!r}.{did} Known settings: {', '.join(known)}.")
        values[key] = parse_value(key, raw, hints[key]) if isinstance(raw, str) else raw
    if seed is not None:
        values["seed"] = seed
    cfg = exp.config(**values)
    if hasattr(cfg, "validate"):
        cfg.validate()
    return cfg


def _split(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--set {item!r}: expected key=value, e.g. --set learning_rate=0.05.")
    return key.strip(), value.strip()


# ----------------------------------------------------------------------- run


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("learning-sandbox", "numpy", "torch", "gymnasium", "scikit-learn", "matplotlib"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


@dataclass
class Run:
    """One run's directory and what the experiment writes into it."""

    dir: Path
    experiment: str
    config: Any
    quiet: bool = False
    _rows: list[dict[str, Any]] = field(default_factory=list)
    _stage: str | None = None

    def say(self, text: str = "") -> None:
        if not self.quiet:
            print(text, flush=True)

    def path(self, name: str) -> Path:
        """A path inside the run directory (parents created)."""
        p = self.dir / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def log(self, series: str, step: int | float, **values: float) -> None:
        """Record ``values`` of ``series`` at ``step``; written to metrics.csv."""
        for name, value in values.items():
            self._rows.append({"series": series, "step": step, "metric": name, "value": float(value)})

    def flush(self) -> None:
        rows = [[r["series"], r["step"], r["metric"], repr(r["value"])] for r in self._rows]
        atomic_write_text(self.dir / "metrics.csv", csv_text(["series", "step", "metric", "value"], rows))

    def save_plot(self, fig: Any, name: str) -> Path:
        """Save a matplotlib Figure as ``name``.png, atomically."""
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        path = atomic_write_bytes(self.dir / f"{name}.png", buf.getvalue())
        self.say(f"  plot: {path}")
        return path

    def table(self, name: str, headers: list[str], rows: list[list[Any]]) -> str:
        """Print a table and save it as ``name``.csv."""
        text = format_table(headers, rows)
        self.say(text)
        atomic_write_text(self.dir / f"{name}.csv", csv_text(headers, [[_cell(v) for v in row] for row in rows]))
        return text

    def stage(self, name: str, compute: Callable[[], Any]) -> Any:
        """Run ``compute()`` once: its JSON result (and the metrics logged inside) is kept in
        ``stages/NAME.json``, and a resumed run takes it from there instead of recomputing."""
        path = self.dir / "stages" / f"{name}.json"
        if path.exists():
            try:
                saved = json.loads(path.read_text())
                metrics, result = list(saved["metrics"]), saved["result"]
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(
                    f"{path} is damaged ({type(exc).__name__}: {exc}); delete it to compute the stage "
                    f"{name!r} again, then resume."
                ) from None
            self._rows.extend(metrics)
            self.say(f"  [{name}] resumed from {path.name}")
            return result
        start = len(self._rows)
        result = to_jsonable(compute())
        atomic_write_json(path, {"result": result, "metrics": self._rows[start:]})
        self.flush()
        return result


def csv_text(headers: list[str], rows: list[list[Any]]) -> str:
    """CSV with quoting (a cell with a comma, a quote or a line break stays one cell), ``\\n`` line ends."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return buf.getvalue()


def format_table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.rjust(w) if _is_num(c) else c.ljust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join(out)


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}" if abs(v) < 1e5 else f"{v:.4e}"
    return str(v)


def _is_num(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def default_out(name: str) -> Path:
    base = Path("runs") / name / time.strftime("%Y%m%d-%H%M%S")
    out, i = base, 1
    while out.exists():
        out, i = base.with_name(f"{base.name}-{i}"), i + 1
    return out


LOCK_NAME = ".run.lock"
"""The file a running run holds an flock on; it stays in the folder, harmless, after the run ends."""


@contextlib.contextmanager
def claim(out: Path, *, resume: bool) -> Iterator[None]:
    """Own the run folder ``out`` for the duration of the block, or refuse.

    The claim is an exclusive ``flock`` on ``out/.run.lock``: exactly one process (or thread) holds
    it, and the kernel drops it when the holder exits, however it exits, so a killed run never
    leaves a stale claim. Holding it, a new run (not ``resume``) also needs the folder to hold no
    run yet; temporary files a killed writer left behind are removed.
    """
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise FileExistsError(
                f"{out} is in use by another run (pid {holder}); wait for it to finish, or pick another --out."
            ) from None
        if not resume and _holds_run(out):
            raise FileExistsError(f"{out} already holds a run; pick another --out, or continue it with --resume {out}.")
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        for stale in out.rglob(".*.tmp"):  # only a writer killed mid-write leaves one; we own the folder now
            stale.unlink(missing_ok=True)
        yield
    finally:
        os.close(fd)


def _holds_run(out: Path) -> bool:
    return any(p.name != LOCK_NAME and not (p.name.startswith(".") and p.name.endswith(".tmp")) for p in out.iterdir())


def run_experiment(
    exp: Experiment,
    config: Any,
    out: str | Path | None = None,
    *,
    quiet: bool = False,
    resume: bool = False,
) -> dict[str, Any]:
    """Run ``exp`` with ``config`` into ``out``; returns the summary (also in summary.json).

    The run owns ``out`` while it runs (see :func:`claim`). ``resume`` continues a run already in
    ``out``: finished stages are read back, and config.json keeps the command line that started the
    run, with this one added under ``resumed``. A run that raises leaves its traceback in
    ``out/error.txt``.
    """
    out = Path(out) if out is not None else default_out(exp.name)
    with claim(out, resume=resume):
        _write_config(exp, config, out)
        run = Run(out, exp.name, config, quiet=quiet)
        run.say(f"== {exp.name}: {exp.summary}")
        run.say(f"   run directory: {out}")
        start = time.perf_counter()
        try:
            summary = exp.run(config, run)
        except Exception:
            atomic_write_text(out / "error.txt", traceback.format_exc())
            raise
        seed = dataclasses.asdict(config).get("seed")
        summary = {"experiment": exp.name, "seed": seed, **summary, "seconds": round(time.perf_counter() - start, 3)}
        run.flush()
        atomic_write_json(out / "summary.json", summary)
        (out / "error.txt").unlink(missing_ok=True)
        run.say(f"   summary: {out / 'summary.json'}")
        return summary


def _write_config(exp: Experiment, config: Any, out: Path) -> None:
    path = out / "config.json"
    if path.is_file():
        try:
            saved = json.loads(path.read_text())
            saved.setdefault("resumed", []).append({"argv": sys.argv, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        except (ValueError, AttributeError) as exc:
            raise ValueError(f"cannot resume {out}: {path} is damaged ({exc}).") from None
        atomic_write_json(path, saved)
        return
    settings = dataclasses.asdict(config)
    atomic_write_json(
        path,
        {"experiment": exp.name, "seed": settings.get("seed"), "settings": settings, "versions": versions(), "argv": sys.argv},
    )


def resume_settings(out: str | Path) -> tuple[str, dict[str, Any]]:
    """(experiment name, settings) of an earlier run directory, for ``--resume``."""
    path = Path(out) / "config.json"
    if not path.is_file():
        if Path(out).is_dir() and not _holds_run(Path(out)):
            raise FileNotFoundError(f"cannot resume {out}: the run stopped before it wrote config.json, so nothing "
                                    "was run yet; start it again with the same --out.")
        raise FileNotFoundError(f"cannot resume {out}: it has no config.json (is it a run directory?).")
    try:
        cfg = json.loads(path.read_text())
        return cfg["experiment"], cfg["settings"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"cannot resume {out}: {path} is damaged ({type(exc).__name__}: {exc}).") from None


def settings_from_json(exp: Experiment, settings: dict[str, Any]) -> Any:
    """Rebuild a config from config.json (JSON lists back to tuples)."""
    hints = typing.get_type_hints(exp.config)
    values = {}
    for k, v in settings.items():
        if k in hints:
            values[k] = tuple(v) if isinstance(v, list) else v
    return make_config(exp, sets=values)
