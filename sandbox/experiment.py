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
learner by name; :mod:`sandbox.catalog` reads what they declare from their
source, so listing and checking settings imports none of them. Every file the
run writes goes through :mod:`sandbox.files` and is atomic.

An experiment exposes its learners' hyperparameters by naming them in
``Experiment(..., learners={"agent": "agents.dqn:DQN"})``: ``--set
agent.learning_rate=3e-4`` is then checked against DQN's constructor before the
run starts, and the experiment builds the learner as
``DQN(**learner_kwargs(cfg, "agent", gamma=cfg.gamma, seed=cfg.seed))`` (its own
values, overridden by the command line's).
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

from sandbox import catalog
from sandbox.catalog import Setting, close_matches
from sandbox.files import atomic_write_bytes, atomic_write_json, atomic_write_text, to_jsonable


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
    learners : ``{"agent": "module:Class"}``, the learners whose hyperparameters ``--set agent.NAME=V``
        sets (the experiment builds them with :func:`learner_kwargs`); a value may be a dict
        ``{"pg": "module:Class", ...}`` chosen by the setting of the same name
    """

    name: str
    summary: str
    config: type
    run: Callable[[Any, Run], dict[str, Any]]
    tour: dict[str, Any] | None = None
    tour_order: int = 100
    headline: tuple[str, ...] = ()
    paradigm: str = ""
    learners: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not dataclasses.is_dataclass(self.config):
            raise TypeError(f"experiment {self.name!r}: config must be a dataclass type.")
        names = {f.name for f in dataclasses.fields(self.config)}
        if "seed" not in names:
            raise TypeError(f"experiment {self.name!r}: its config needs a 'seed' field.")
        if self.tour:
            unknown = set(self.tour) - names
            if unknown:
                raise TypeError(
                    f"experiment {self.name!r}: tour overrides unknown settings {sorted(unknown)}."
                )


# ------------------------------------------------------------------ registry


def discover() -> dict[str, Any]:
    """Every experiment reachable through the entry-point group, by name, as read from its
    source (:class:`sandbox.catalog.ExperimentInfo`; nothing is imported)."""
    return catalog.discover()


def info(name: str) -> Any:
    """The experiment ``name`` as its source declares it (nothing imported), or a clear error."""
    found = catalog.find(name)
    if found is not None:
        return found
    experiments = discover()
    if name not in experiments:
        hint = close_matches(name, experiments)
        did = f" Did you mean {' or '.join(map(repr, hint))}?" if hint else ""
        raise ValueError(f"unknown experiment {name!r}.{did} Known: {', '.join(experiments)}.")
    return experiments[name]


def get(name: str) -> Experiment:
    """The experiment ``name``, imported and ready to run."""
    found = info(name)
    return found if isinstance(found, Experiment) else found.load()


def declared_settings(exp: Any) -> tuple[Setting, ...]:
    """What each of the experiment's settings means, its type, default, choices and range."""
    if isinstance(exp, catalog.ExperimentInfo):
        return exp.settings
    import inspect
    import textwrap

    try:
        return tuple(
            catalog.class_settings(
                textwrap.dedent(inspect.getsource(exp.config)),
                inspect.getsource(sys.modules[exp.config.__module__]),
            )
        )
    except (OSError, TypeError, KeyError, IndexError):  # defined where no source is kept
        defaults = exp.config()
        return tuple(
            Setting(f.name, getattr(f.type, "__name__", str(f.type)), getattr(defaults, f.name))
            for f in dataclasses.fields(exp.config)
        )


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
    if (
        annotation is typing.Any
    ):  # a learner's parameter declared without a type: a Python literal, or text
        import ast

        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
    raise ValueError(
        f"--set {key}: settings of type {annotation} cannot be set from the command line."
    )


def make_config(exp: Any, *, seed: int | None = None, sets: list[str] | dict[str, Any] = ()) -> Any:
    """The experiment's settings with ``seed`` and each ``key=value`` override applied and
    validated; ``LEARNER.NAME=value`` keys set a learner's hyperparameters (:func:`learner_params`)."""
    values, params = check_settings(exp, seed=seed, sets=sets)
    cfg = exp.config(**values)
    if hasattr(cfg, "validate"):
        cfg.validate()
    object.__setattr__(
        cfg, "_learner_params", params
    )  # not a dataclass field: the config stays the experiment's own
    return cfg


def learner_params(config: Any) -> dict[str, dict[str, Any]]:
    """The learners' hyperparameters set on the command line: ``{"agent": {"learning_rate": 3e-4}}``."""
    return getattr(config, "_learner_params", {})


def learner_kwargs(config: Any, learner: str, **values: Any) -> dict[str, Any]:
    """The keyword arguments for ``learner``'s constructor: the experiment's own ``values``, with the
    hyperparameters ``--set LEARNER.NAME=V`` gave on top."""
    return {**values, **learner_params(config).get(learner, {})}


def settings_dict(config: Any) -> dict[str, Any]:
    """Every setting of ``config`` by name, learners' hyperparameters as ``agent.NAME`` (for config.json)."""
    out = dataclasses.asdict(config)
    for learner, params in learner_params(config).items():
        out.update({f"{learner}.{name}": value for name, value in params.items()})
    return out


def check_settings(
    exp: Any, *, seed: int | None = None, sets: list[str] | dict[str, Any] = ()
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Parse and check the command line's settings against what the experiment declares, without
    importing it: unknown names (with close matches), types, choices, the seed, and the learners'
    hyperparameters. Returns (settings, learner hyperparameters); range checks are ``validate``'s."""
    declared = {s.name: s for s in declared_settings(exp)}
    hints = typing.get_type_hints(exp.config) if isinstance(exp, Experiment) else {}
    items = list(sets.items()) if isinstance(sets, dict) else [_split(s) for s in sets]
    values: dict[str, Any] = {}
    for key, raw in (kv for kv in items if "." not in kv[0]):
        if key not in declared:
            hint = close_matches(key, declared)
            did = f" Did you mean {' or '.join(map(repr, hint))}?" if hint else ""
            raise ValueError(
                f"unknown setting {key!r} for experiment {exp.name!r}.{did} Known settings: "
                f"{', '.join(declared)}{_learner_hint(exp)}."
            )
        values[key] = _parse(
            key, raw, hints.get(key) or declared[key].annotation(), declared[key].choices
        )
    if seed is not None:
        if "seed" in values and values["seed"] != seed:
            raise ValueError(
                f"--seed {seed} and --set seed={values['seed']} disagree; give the seed once."
            )
        values["seed"] = seed
    if "seed" in values and not (
        isinstance(values["seed"], int)
        and not isinstance(values["seed"], bool)
        and values["seed"] >= 0
    ):
        raise ValueError(f"seed {values['seed']!r}: a seed is an integer >= 0.")
    chosen = {name: values.get(name, s.default) for name, s in declared.items()}
    params: dict[str, dict[str, Any]] = {}
    for key, raw in (kv for kv in items if "." in kv[0]):
        learner, _, name = key.partition(".")
        params.setdefault(learner, {})[name] = _learner_value(exp, key, raw, chosen)
    return values, params


def _learner_hint(exp: Any) -> str:
    learners = getattr(exp, "learners", None) or {}
    return (
        "; learners' hyperparameters: " + ", ".join(f"{k}.NAME" for k in learners)
        if learners
        else ""
    )


def _learner_value(exp: Any, key: str, raw: Any, chosen: dict[str, Any]) -> Any:
    learner, _, name = key.partition(".")
    learners = getattr(exp, "learners", None) or {}
    if learner not in learners:
        has = (
            f"its learners are {', '.join(learners)}"
            if learners
            else "it exposes no learner's hyperparameters"
        )
        raise ValueError(f"--set {key}: experiment {exp.name!r} has no learner {learner!r}; {has}.")
    target = catalog.learner_target(learners, learner, chosen)
    if target is None:
        raise ValueError(f"--set {key}: no learner is used with {learner}={chosen.get(learner)!r}.")
    cls = target.rpartition(":")[2]
    if name == "seed":
        raise ValueError(f"--set {key}: the run's seed is {cls}'s seed; use --seed N.")
    declared = {s.name: s for s in catalog.learner_settings(target)}
    if name not in declared:
        hint = close_matches(name, declared)
        did = f" Did you mean {' or '.join(repr(f'{learner}.{h}') for h in hint)}?" if hint else ""
        raise ValueError(
            f"--set {key}: {cls} has no hyperparameter {name!r}.{did} "
            f"Its hyperparameters: {', '.join(declared)} (see `sandbox show {exp.name}`)."
        )
    return _parse(key, raw, declared[name].annotation(), ())


def _parse(key: str, raw: Any, annotation: Any, choices: tuple[Any, ...]) -> Any:
    if not isinstance(raw, str):
        return raw
    value = parse_value(key, raw, annotation)
    values = value if isinstance(value, tuple) else (value,)
    bad = [v for v in values if choices and v not in choices]
    if bad:
        hint = close_matches(str(bad[0]), map(str, choices))
        did = f" Did you mean {' or '.join(map(repr, hint))}?" if hint else ""
        raise ValueError(
            f"{key}={bad[0]!r} is not allowed; choose {'from' if isinstance(value, tuple) else 'one of'} "
            f"{', '.join(map(repr, choices))}.{did}"
        )
    return value


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
    tensorboard: bool = (
        False  # also write metrics.csv's series as TensorBoard scalars (DIR/tensorboard)
    )
    _rows: list[dict[str, Any]] = field(default_factory=list)
    _stage: str | None = None

    def say(self, text: str = "") -> None:
        if not self.quiet:
            print(text, flush=True)

    def progress(self, stage: str) -> bool:
        """What the experiment passes as ``fit(..., progress=run.progress("fit"))`` in ``stage``: a bar
        on a terminal, a line every tenth of the budget elsewhere (:mod:`sandbox.progress`), nothing
        with ``--quiet``."""
        return not self.quiet

    def path(self, name: str) -> Path:
        """A path inside the run directory (parents created)."""
        p = self.dir / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def log(self, series: str, step: int | float, **values: float) -> None:
        """Record ``values`` of ``series`` at ``step``; written to metrics.csv."""
        for name, value in values.items():
            self._rows.append(
                {"series": series, "step": step, "metric": name, "value": float(value)}
            )

    def flush(self) -> None:
        rows = [[r["series"], r["step"], r["metric"], repr(r["value"])] for r in self._rows]
        atomic_write_text(
            self.dir / "metrics.csv", csv_text(["series", "step", "metric", "value"], rows)
        )
        if self.tensorboard:
            from sandbox.tensorboard import write_scalars

            write_scalars(self.dir / "tensorboard", self._rows)

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
        atomic_write_text(
            self.dir / f"{name}.csv", csv_text(headers, [[_cell(v) for v in row] for row in rows])
        )
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
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += [
        "  ".join(c.rjust(w) if _is_num(c) else c.ljust(w) for c, w in zip(r, widths))
        for r in cells
    ]
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
            raise FileExistsError(
                f"{out} already holds a run; pick another --out, or continue it with --resume {out}."
            )
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        for stale in out.rglob(
            ".*.tmp"
        ):  # only a writer killed mid-write leaves one; we own the folder now
            stale.unlink(missing_ok=True)
        yield
    finally:
        os.close(fd)


def _holds_run(out: Path) -> bool:
    return any(
        p.name != LOCK_NAME and not (p.name.startswith(".") and p.name.endswith(".tmp"))
        for p in out.iterdir()
    )


def run_experiment(
    exp: Experiment,
    config: Any,
    out: str | Path | None = None,
    *,
    quiet: bool = False,
    resume: bool = False,
    tensorboard: bool = False,
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
        run = Run(out, exp.name, config, quiet=quiet, tensorboard=tensorboard)
        run.say(f"== {exp.name}: {exp.summary}")
        run.say(f"   run directory: {out}")
        start = time.perf_counter()
        try:
            summary = exp.run(config, run)
        except Exception:
            atomic_write_text(out / "error.txt", traceback.format_exc())
            raise
        seed = dataclasses.asdict(config).get("seed")
        summary = {
            "experiment": exp.name,
            "seed": seed,
            **summary,
            "seconds": round(time.perf_counter() - start, 3),
        }
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
            saved.setdefault("resumed", []).append(
                {"argv": sys.argv, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            )
        except (ValueError, AttributeError) as exc:
            raise ValueError(f"cannot resume {out}: {path} is damaged ({exc}).") from None
        atomic_write_json(path, saved)
        return
    settings = settings_dict(config)
    atomic_write_json(
        path,
        {
            "experiment": exp.name,
            "seed": settings.get("seed"),
            "settings": settings,
            "versions": versions(),
            "argv": sys.argv,
        },
    )


def resume_settings(out: str | Path) -> tuple[str, dict[str, Any]]:
    """(experiment name, settings) of an earlier run directory, for ``--resume``."""
    path = Path(out) / "config.json"
    if not path.is_file():
        if Path(out).is_dir() and not _holds_run(Path(out)):
            raise FileNotFoundError(
                f"cannot resume {out}: the run stopped before it wrote config.json, so nothing "
                "was run yet; start it again with the same --out."
            )
        raise FileNotFoundError(
            f"cannot resume {out}: it has no config.json (is it a run directory?)."
        )
    try:
        cfg = json.loads(path.read_text())
        return cfg["experiment"], cfg["settings"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f"cannot resume {out}: {path} is damaged ({type(exc).__name__}: {exc})."
        ) from None


def settings_from_json(exp: Experiment, settings: dict[str, Any]) -> Any:
    """Rebuild a config from config.json (JSON lists back to tuples)."""
    hints = typing.get_type_hints(exp.config)
    values = {}
    for k, v in settings.items():
        if k in hints or "." in k:
            values[k] = tuple(v) if isinstance(v, list) else v
    return make_config(exp, sets=values)
