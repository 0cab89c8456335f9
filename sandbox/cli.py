"""The ``sandbox`` command.

    sandbox list                                   the experiments, one line each
    sandbox run NAME [--seed N] [--set k=v ...] [--out DIR] [--tensorboard] [--quiet]
    sandbox run NAME --resume DIR                  continue an interrupted run
    sandbox show NAME                              every setting: meaning, type, default, choices
    sandbox sweep NAME --grid k=v1,v2 --seeds 0,1,2 [--backend serial|process|ray] [--workers N]
    sandbox check-env ID [--kwarg k=v ...]         Gymnasium's check_env, then which agents can run on it
    sandbox --version

``list``, ``show`` and every refusal of a bad command line import no experiment
(:mod:`sandbox.catalog` reads their source), so they answer at once. A mistake a
user can make on the command line ends as one ``sandbox: error: ...`` line and
exit status 2, before any run folder is made; a bug inside the project still
shows its traceback.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sandbox import __version__, catalog
from sandbox import experiment as ex

# What a user can get wrong: bad names and values, a run folder that exists or cannot be made.
USER_ERRORS = (
    ValueError,
    FileExistsError,
    FileNotFoundError,
    NotADirectoryError,
    IsADirectoryError,
    PermissionError,
)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sandbox", description="The learning sandbox: run and compare learners."
    )
    p.add_argument(
        "--version", action="version", version=f"sandbox (learning-sandbox) {__version__}"
    )
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the experiments")
    show = sub.add_parser(
        "show", help="every setting of an experiment: meaning, type, default, choices"
    )
    show.add_argument("name")
    run = sub.add_parser("run", help="run an experiment")
    _add_run_args(run, with_name=True)
    sw = sub.add_parser("sweep", help="run an experiment over a grid of settings and seeds")
    sw.add_argument("name")
    sw.add_argument(
        "--grid", action="append", default=[], metavar="KEY=V1,V2", help="values to try; repeatable"
    )
    sw.add_argument(
        "--seeds",
        default="0",
        help="seeds: a list and inclusive ranges, e.g. 0-4 or 0,2,5-7 (default 0)",
    )
    sw.add_argument("--backend", default="serial", help="serial, process or ray")
    sw.add_argument(
        "--workers", type=int, default=2, help="parallel runs for process/ray (default 2)"
    )
    sw.add_argument(
        "--out",
        default=None,
        help="sweep directory (default runs/sweep-NAME/<timestamp>); reusing one resumes it",
    )
    sw.add_argument("--quiet", action="store_true")
    cmp = sub.add_parser(
        "compare",
        help="compare run folders, seed groups and sweeps; write report.md and report.html",
    )
    cmp.add_argument(
        "dirs", nargs="+", metavar="DIR", help="run folders, seed groups (run --seeds) or sweeps"
    )
    cmp.add_argument(
        "--out",
        default=None,
        help="report folder (default: the group or sweep when one is given, else runs/compare/<timestamp>)",
    )
    check = sub.add_parser(
        "check-env",
        help="check an env with Gymnasium's check_env and list the agents that can run on it",
    )
    check.add_argument(
        "env",
        help="a registered id (sandbox/GridWorld-v0) or a package.module:ClassName entry point",
    )
    check.add_argument(
        "--kwarg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="keyword argument for the env's constructor (value read as Python literal if it parses); repeatable",
    )
    return p


def _add_run_args(p: argparse.ArgumentParser, *, with_name: bool) -> None:
    if with_name:
        p.add_argument("name", nargs="?", help="experiment name (see `sandbox list`)")
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="the one source of randomness (default: the experiment's)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one setting, or a learner's hyperparameter as agent.NAME=VALUE "
        "(see `sandbox show NAME`); repeatable",
    )
    p.add_argument("--out", default=None, help="run directory (default runs/NAME/<timestamp>)")
    p.add_argument(
        "--resume",
        default=None,
        metavar="DIR",
        help="continue the run in DIR with its own settings",
    )
    p.add_argument(
        "--tensorboard",
        action="store_true",
        help="also write the metric series as TensorBoard scalars in DIR/tensorboard "
        "(needs the tensorboard extra: pip install 'learning-sandbox[tensorboard]')",
    )
    p.add_argument("--quiet", action="store_true", help="print only the summary path (no progress)")
    p.add_argument(
        "--seeds",
        default=None,
        help="run once per seed (e.g. 0-4 or 0,2,5-7) into one group folder, "
        "then aggregate with 95 %% intervals and write a report",
    )
    p.add_argument(
        "--backend",
        default=None,
        help="with --seeds: serial, process or ray (default: process when "
        "there is more than one core)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="with --seeds: parallel runs (default: the cores, at most the seeds)",
    )


def _run(args: argparse.Namespace, fixed: Any = None) -> int:
    if args.tensorboard:
        from sandbox.tensorboard import require_tensorboard

        require_tensorboard()
    if args.seeds is not None:
        if args.tensorboard:
            raise ValueError("--tensorboard goes with a single run; drop it with --seeds.")
        return _run_seeds(args, fixed)
    if args.backend is not None or args.workers is not None:
        raise ValueError(
            "--backend and --workers go with --seeds (several runs); a single run uses neither."
        )
    if args.resume:
        if args.set or args.seed is not None or (args.out and args.out != args.resume):
            raise ValueError(
                "--resume takes the settings of the run it continues; drop --seed/--set/--out."
            )
        name, settings = ex.resume_settings(args.resume)
        found = fixed or ex.info(name)
        wanted = fixed.name if fixed else args.name
        if wanted and wanted != name:
            raise ValueError(f"{args.resume} is a run of {name!r}, not {wanted!r}.")
        exp = found if isinstance(found, ex.Experiment) else found.load()
        config = ex.settings_from_json(exp, settings)
        out = Path(args.resume)
        summary = _guarded(exp, config, out, args, resume=True)
    else:
        found = fixed or (ex.info(args.name) if args.name else None)
        if found is None:
            raise ValueError(
                "name an experiment to run (see `sandbox list`), or pass --resume DIR."
            )
        ex.check_settings(found, seed=args.seed, sets=args.set)  # fast: nothing imported yet
        out = Path(args.out) if args.out else ex.default_out(found.name)
        _check_out(out)
        exp = found if isinstance(found, ex.Experiment) else found.load()
        config = ex.make_config(exp, seed=args.seed, sets=args.set)
        summary = _guarded(exp, config, out, args, resume=False)
    if args.quiet:
        print(f"{out}/summary.json")
    failed = summary.get("failed") if isinstance(summary, dict) else None
    if failed:  # an experiment made of runs (the suite) whose runs failed: not a success
        print(f"{out}: failed: {', '.join(map(str, failed))}", file=sys.stderr)
        return 1
    return 0


def _check_out(out: Path) -> None:
    """Refuse a run folder that cannot be one, before anything is made."""
    if out.exists() and not out.is_dir():
        raise ValueError(
            f"--out {out}: that is a file, not a folder; name a new folder for the run."
        )
    if out.is_dir() and any(out.iterdir()):
        raise FileExistsError(
            f"{out} already holds a run; pick another --out, or continue it with --resume {out}."
        )
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"--out {out}: {parent} is a file, so no folder can be made under it.")


def _guarded(exp: Any, config: Any, out: Path, args: argparse.Namespace, *, resume: bool) -> Any:
    """Run and return the run's summary, turning a folder that cannot be made into a user error, removing a folder this
    call made when the run stopped on a user error before any stage finished, and naming the
    folder to resume after Ctrl-C."""
    made = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(
            f"--out {out}: cannot make the run folder there ({exc.strerror}); "
            "pick a folder you can write to."
        ) from None
    try:
        return ex.run_experiment(
            exp, config, out, quiet=args.quiet, resume=resume, tensorboard=args.tensorboard
        )
    except USER_ERRORS:
        if made and not (out / "stages").exists():
            shutil.rmtree(out, ignore_errors=True)
        raise
    except KeyboardInterrupt:
        raise Interrupted(exp.name, out) from None


class Interrupted(Exception):
    """Ctrl-C during a run; says which folder to resume."""

    def __init__(self, name: str, out: Path) -> None:
        super().__init__(
            f"interrupted; finished stages are kept in {out}. Continue with: "
            f"sandbox run {name} --resume {out}"
        )


def _show(name: str) -> None:
    print(show_text(ex.info(name)))


def show_text(exp: Any) -> str:
    """What ``sandbox show`` prints: every setting and learner hyperparameter, and an example."""
    lines = [f"{exp.name}: {exp.summary}"]
    if exp.paradigm:
        lines.append(f"paradigm: {exp.paradigm}")
    settings = ex.declared_settings(exp)
    lines += ["", "Settings (--set NAME=VALUE; --seed N sets seed):"]
    for s in settings:
        lines += _setting_lines(s, "")
    learners = getattr(exp, "learners", None) or {}
    defaults = {s.name: s.default for s in settings}
    for key, target in learners.items():
        options = target if isinstance(target, dict) else {None: target}
        for when, tgt in options.items():
            cls = tgt.rpartition(":")[2]
            used = f", used with {key}={when}" if when is not None else ""
            lines += [
                "",
                f"{cls}'s hyperparameters (--set {key}.NAME=VALUE{used}; unset, each is what the "
                f"experiment passes, or else the default shown):",
            ]
            for s in catalog.learner_settings(tgt):
                lines += _setting_lines(s, f"{key}.")
    lines += ["", "Example:", f"  {_example(exp, settings, learners, defaults)}"]
    return "\n".join(lines)


def _setting_lines(s: catalog.Setting, prefix: str) -> list[str]:
    out = [f"  {prefix}{s.name}=<{s.type or 'value'}>  default {s.default!r}"]
    if s.help:
        out.append(f"      {s.help}")
    if s.choices:
        out.append(f"      choices: {', '.join(map(str, s.choices))}")
    if s.bounds:
        out.append(f"      accepted: {s.bounds}")
    if s.applies:
        out.append(f"      applies when: {s.applies}")
    return out


def _example(exp: Any, settings: tuple, learners: dict, defaults: dict) -> str:
    parts = [f"sandbox run {exp.name} --seed 1"]
    pick = next(
        (
            s
            for s in settings
            if s.name != "seed" and len(s.choices) > 1 and not s.type.startswith("tuple")
        ),
        None,
    )
    if pick is not None:
        parts.append(f"--set {pick.name}={pick.choices[-1]}")
        defaults = {**defaults, pick.name: pick.choices[-1]}
    else:
        pick = next(
            (
                s
                for s in settings
                if s.name != "seed"
                and isinstance(s.default, int | float | str)
                and not isinstance(s.default, bool)
            ),
            None,
        )
        if pick is not None:
            parts.append(f"--set {pick.name}={pick.default}")
    for key in learners:
        target = catalog.learner_target(learners, key, defaults)
        numbers = (
            [s for s in catalog.learner_settings(target) if isinstance(s.default, float)]
            if target
            else []
        )
        if numbers:
            parts.append(f"--set {key}.{numbers[0].name}={numbers[0].default / 2:g}")
    return " ".join(parts)


def _sweep(args: argparse.Namespace) -> int:
    from sandbox.compare import compare
    from sandbox.stats import parse_seeds
    from sandbox.sweep import parse_grid, sweep

    out = args.out or ex.default_out(f"sweep-{args.name}")
    summary = sweep(
        args.name,
        parse_grid(args.grid),
        parse_seeds(args.seeds),
        out,
        backend=args.backend,
        workers=args.workers,
        quiet=args.quiet,
    )
    print(
        f"{out}/summary.json"
        + (
            f"  ({len(summary['failed'])} of {summary['runs']} runs failed)"
            if summary["failed"]
            else ""
        )
    )
    if len(summary["failed"]) < summary["runs"]:
        print(f"report: {compare([out], quiet=True)['report']}")
    return 1 if summary["failed"] else 0


def _run_seeds(args: argparse.Namespace, fixed: Any = None) -> int:
    """``run NAME --seeds 0-4``: one run per seed under one group folder, through the sweep's backends,
    then the aggregate (printed) and its report."""
    import os

    from sandbox.compare import compare
    from sandbox.stats import parse_seeds
    from sandbox.sweep import sweep

    if args.resume or args.seed is not None:
        raise ValueError(
            "--seeds runs a group of seeds; drop --seed and --resume (rerun with the same --out to resume a group)."
        )
    exp = fixed or (ex.get(args.name) if args.name else None)
    if exp is None:
        raise ValueError("name an experiment to run over seeds (see `sandbox list`).")
    seeds = parse_seeds(args.seeds)
    cores = os.cpu_count() or 1
    backend = args.backend or ("process" if cores > 1 and len(seeds) > 1 else "serial")
    workers = args.workers or max(1, min(cores, len(seeds)))
    grid = {k: [v] for k, v in (ex._split(item) for item in args.set)}
    out = args.out or ex.default_out(exp.name)
    summary = sweep(exp.name, grid, seeds, out, backend=backend, workers=workers, quiet=args.quiet)
    if len(summary["failed"]) == summary["runs"]:
        print(f"all {summary['runs']} runs failed; see {out}/summary.json", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"\n== {exp.name} over seeds {args.seeds}:")
    result = compare([out], quiet=args.quiet, title=f"{exp.name} over seeds {args.seeds}")
    if args.quiet:
        print(result["report"])
    return 1 if summary["failed"] else 0


def _compare(args: argparse.Namespace) -> int:
    from sandbox.compare import compare

    compare(args.dirs, args.out)
    return 0


def _env_kwargs(items: list[str]) -> dict[str, object]:
    import ast

    out: dict[str, object] = {}
    for item in items:
        key, value = ex._split(item)
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value  # a bare word such as opponent=self stays a string
    return out


def check_env(env_id: str, kwargs: dict[str, object] | None = None) -> int:
    """Print Gymnasium's check_env verdict on ``env_id``, then each sandbox agent's verdict; 0 if check_env passed."""
    import warnings

    from gymnasium.error import DependencyNotInstalled
    from gymnasium.utils.env_checker import check_env as gym_check_env

    from sandbox.environments import describe_space, env_name, make_env
    from sandbox.learner import load_learner_plugins

    env = make_env(env_id, **(kwargs or {}))
    print(
        f"{env_name(env)}: observations {describe_space(env.observation_space)}, actions {describe_space(env.action_space)}"
    )
    passed = True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            try:
                gym_check_env(env.unwrapped, skip_render_check=False)
            except (
                DependencyNotInstalled
            ) as exc:  # rendering needs an optional extra; check the rest
                print(f"gymnasium check_env: render check skipped ({exc})")
                gym_check_env(env.unwrapped, skip_render_check=True)
            print("gymnasium check_env: passed")
        except Exception as exc:  # any failure is the finding this command reports
            passed = False
            print(f"gymnasium check_env: FAILED: {type(exc).__name__}: {exc}")
    for w in caught:  # Gymnasium colours its warnings for terminals; plain text reads better here
        print("  warning: " + re.sub(r"\x1b\[[0-9;]*m", "", str(w.message)).removeprefix("WARN: "))
    rows = []
    for name, cls in sorted(load_learner_plugins().items()):
        if not cls.declares_env_support():
            rows.append(
                [name, cls.paradigm, "?", "does not declare env_support; fit checks the env itself"]
            )
            continue
        reason = cls.env_support(env)
        rows.append([name, cls.paradigm, "yes" if reason is None else "no", reason or ""])
    print()
    print(ex.format_table(["agent", "paradigm", "can run", "why not"], rows))
    env.close()
    return 0 if passed else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            exps = ex.discover()
            width = max(len(n) for n in exps)
            pwidth = max(len(e.paradigm) for e in exps.values())
            for name, exp in exps.items():
                print(f"{name.ljust(width)}  {exp.paradigm.ljust(pwidth)}  {exp.summary}")
            return 0
        if args.command == "show":
            _show(args.name)
            return 0
        if args.command == "sweep":
            return _sweep(args)
        if args.command == "compare":
            return _compare(args)
        if args.command == "check-env":
            return check_env(args.env, _env_kwargs(args.kwarg))
        return _run(args)
    except USER_ERRORS as exc:
        print(f"sandbox: error: {exc}", file=sys.stderr)
        return 2
    except Interrupted as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:  # before a run folder was made: nothing to resume
        print("sandbox: interrupted before the run started; nothing was written.", file=sys.stderr)
        return 130


def script_main(exp: ex.Experiment, argv: Sequence[str] | None = None) -> int:
    """Entry point for ``python experiments/NAME.py [--seed N] [--set k=v ...]``."""
    p = argparse.ArgumentParser(prog=exp.name, description=exp.summary)
    _add_run_args(p, with_name=False)
    args = p.parse_args(argv)
    try:
        return _run(args, fixed=exp)
    except USER_ERRORS as exc:
        print(f"{exp.name}: error: {exc}", file=sys.stderr)
        return 2
    except Interrupted as exc:
        print(f"{exp.name}: {exc}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
