"""What the experiments and their learners declare, read from their source without importing them.

``sandbox list``, ``sandbox show`` and the refusal of a bad command line must answer at
once, so they never import an experiment module (which imports torch, scikit-learn,
the learners...). Instead this module parses each experiment module with :mod:`ast`:

- the ``Experiment("name", "summary", Config, run, tour=..., learners=...)`` call, whose
  arguments are literals (or names of module-level literal constants);
- the ``Config`` dataclass: every field's annotation, default and meaning. The meaning is
  the comment at the end of the field's line, or ``field(metadata={"help": ...})``;
  ``metadata`` may also give ``"choices"`` and ``"applies"`` (when the setting is used,
  e.g. ``"agent=dqn"``). Choices and ranges also come from the ``validate`` method's
  ``check_choice("name", self.name, CHOICES)`` and ``check_number("name", ..., low=, high=)``
  calls, so a setting is declared in one place and checked by the same line.
- a learner named in ``learners`` (``"agents.dqn:DQN"``): its constructor's keyword
  parameters, defaults and annotations, and their meaning from the class docstring's
  numpydoc ``Parameters`` section (following base classes defined in the same package).

A module whose ``Experiment(...)`` call cannot be read this way is imported instead, so a
plug-in is never missed; it is only slower to list.
"""

from __future__ import annotations

import ast
import difflib
import functools
import importlib
import importlib.machinery
import importlib.metadata
import importlib.util
import io
import re
import sys
import tokenize
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENTRY_POINT_GROUP = "sandbox.experiments"


# What the settings many experiments share mean, in the project's one vocabulary (docs/vocabulary.md);
# an experiment's own comment on the field, or its field metadata, comes first.
COMMON_MEANINGS = {
    "seed": "the one source of randomness: data, weights, exploration, environments (also --seed N)",
    "n": "samples drawn for the dataset",
    "noise": "standard deviation of the noise added to the data",
    "hidden": "hidden-layer sizes, comma-separated (e.g. 64,32)",
    "activation": "the hidden layers' activation function",
    "epochs": "passes over the training data",
    "batch_size": "samples per gradient step",
    "learning_rate": "the optimizer's step size",
    "l1": "weight of the L1 penalty on the weights (0: none)",
    "l2": "weight of the L2 penalty on the weights (0: none)",
    "dropout": "probability of zeroing a hidden unit while training (0: none)",
    "patience": "epochs without a better validation loss before training stops",
    "episodes": "training episodes",
    "eval_episodes": "episodes the trained, greedy policy plays to be scored",
    "eval_games": "games the trained player plays to be scored",
    "gamma": "discount factor in [0, 1] of future rewards",
    "alpha": "step size (learning rate) of the value updates",
    "epsilon": "exploration rate: the probability of a uniformly random action",
    "epsilon_end": "the exploration rate at the end of its decay",
    "runs": "independent repetitions, averaged",
    "datasets": "which datasets to run, comma-separated",
    "n_init": "k-means restarts from different starting centres; the best is kept",
    "test_size": "share of the data held out for testing",
    "curve_points": "points of the learning curve (how often the policy is scored while learning)",
    "window": "episodes in the moving mean",
}


def close_matches(word: str, options: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` of ``options`` that look like ``word`` (for "did you mean")."""
    return difflib.get_close_matches(str(word), list(options), n=n, cutoff=0.5)


@dataclass(frozen=True)
class Setting:
    """One ``--set`` setting (of the experiment, or ``agent.NAME`` of a learner).

    type : the annotation as written in the source (``"int"``, ``"float | None"``, ...)
    default : the default value (a literal), or its source text when it is not a literal
    help : what it means, in words ("" when the source says nothing)
    choices : the accepted values where only some are
    bounds : the accepted range in words (from ``check_number`` in ``validate``)
    applies : when the setting is used (e.g. ``"agent=dqn"``); "" means always
    """

    name: str
    type: str
    default: Any
    help: str = ""
    choices: tuple[Any, ...] = ()
    bounds: str = ""
    applies: str = ""

    def annotation(self) -> Any:
        """The annotation as a typing object, for :func:`sandbox.experiment.parse_value`."""
        return annotation_from_text(self.type, self.default)


@dataclass(frozen=True)
class ExperimentInfo:
    """An experiment as its source declares it; :meth:`load` imports it for a run.

    The attributes ``name``, ``summary``, ``tour``, ``tour_order``, ``headline``, ``paradigm``
    and ``learners`` are those of :class:`sandbox.experiment.Experiment`; ``config`` and ``run``
    import the module on first use.
    """

    name: str
    summary: str
    module: str
    config_name: str
    read_settings: Callable[[], list[Setting]] = field(repr=False, compare=False)
    tour: dict[str, Any] | None = None
    tour_order: int = 100
    headline: tuple[str, ...] = ()
    paradigm: str = ""
    learners: dict[str, Any] = field(default_factory=dict)

    @functools.cached_property
    def settings(self) -> tuple[Setting, ...]:
        """Every setting of the experiment's Config, read from its source when first asked for."""
        return tuple(self.read_settings())

    def load(self) -> Any:
        """The :class:`sandbox.experiment.Experiment` object (imports the module)."""
        from sandbox.experiment import Experiment

        module = importlib.import_module(self.module)
        for obj in vars(module).values():
            if isinstance(obj, Experiment) and obj.name == self.name:
                return obj
        raise LookupError(f"module {self.module} no longer defines experiment {self.name!r}.")

    @property
    def config(self) -> type:
        return self.load().config

    @property
    def run(self) -> Any:
        return self.load().run


# ----------------------------------------------------------------- discovery


def discover() -> dict[str, Any]:
    """Every experiment of the ``sandbox.experiments`` entry points, by name, as
    :class:`ExperimentInfo` (or an imported ``Experiment`` where the source could not be read)."""
    found: dict[str, Any] = {}
    for module, path in _all_modules():
        for exp in _experiments_in(module, path):
            found.setdefault(exp.name, exp)
    return dict(sorted(found.items()))


def find(name: str) -> Any | None:
    """The experiment ``name`` (as :func:`discover` gives it), reading only the modules whose source
    mentions the name; None when there is none."""
    quoted = (f'"{name}"', f"'{name}'")
    for module, path in _all_modules():
        if (
            path is not None
            and path.suffix == ".py"
            and not any(q in path.read_text(encoding="utf-8") for q in quoted)
        ):
            continue
        for exp in _experiments_in(module, path):
            if exp.name == name:
                return exp
    return None


def _all_modules() -> list[tuple[str, Path | None]]:
    return [
        m
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        for m in _modules(ep.value)
    ]


def _modules(name: str) -> list[tuple[str, Path | None]]:
    """(module name, source file) of ``name`` and, for a package, of each module in it."""
    spec = _find_spec(name)
    if spec is None:
        raise ModuleNotFoundError(f"entry point {ENTRY_POINT_GROUP}: no module named {name!r}.")
    origin = Path(spec.origin) if spec.origin and spec.has_location else None
    out = [(name, origin)]
    for location in spec.submodule_search_locations or ():
        for path in sorted(Path(location).glob("*.py")):
            if path.name != "__init__.py":
                out.append((f"{name}.{path.stem}", path))
    return out


def _find_spec(name: str) -> Any:
    """The module spec of ``name`` (its ``origin`` file and package folders) without executing
    any package ``__init__`` on the way, as ``importlib.util.find_spec`` would."""
    parts = name.split(".")
    spec = (
        sys.modules[parts[0]].__spec__
        if parts[0] in sys.modules
        else importlib.util.find_spec(parts[0])
    )
    for part in parts[1:]:
        if spec is None or not spec.submodule_search_locations:
            return None
        spec = importlib.machinery.PathFinder.find_spec(part, list(spec.submodule_search_locations))
    return spec


def _experiments_in(module: str, path: Path | None) -> list[Any]:
    if path is None or path.suffix != ".py":
        return _imported(module)
    source = path.read_text(encoding="utf-8")
    if "Experiment(" not in source:
        return []
    try:
        return read_experiments(source, module)
    except _Unreadable:
        return _imported(module)


def _imported(module: str) -> list[Any]:
    from sandbox.experiment import Experiment

    mod = importlib.import_module(module)
    return [obj for obj in vars(mod).values() if isinstance(obj, Experiment)]


class _Unreadable(Exception):
    """The source does not declare its experiment with literals; import it instead."""


def read_experiments(source: str, module: str) -> list[ExperimentInfo]:
    """The experiments a module's source declares, read with :mod:`ast`."""
    tree = ast.parse(source)
    constants = _Constants(tree)
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    comments = _comments(source)
    out = []
    for node in tree.body:
        call = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if not (isinstance(call, ast.Call) and _name(call.func) == "Experiment"):
            continue
        params = ["name", "summary", "config", "run"]
        args = dict(zip(params, call.args))
        args.update({k.arg: k.value for k in call.keywords if k.arg})
        config = args.get("config")
        if not isinstance(config, ast.Name) or config.id not in classes:
            raise _Unreadable
        values = {k: _literal(v, constants) for k, v in args.items() if k not in ("config", "run")}
        out.append(
            ExperimentInfo(
                name=values["name"],
                summary=values["summary"],
                module=module,
                config_name=config.id,
                read_settings=functools.partial(
                    config_settings, classes[config.id], constants, comments
                ),
                tour=values.get("tour"),
                tour_order=values.get("tour_order", 100),
                headline=tuple(values.get("headline", ())),
                paradigm=values.get("paradigm", ""),
                learners=values.get("learners") or {},
            )
        )
    return out


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


class _Constants(dict):
    """Module-level ``NAME = literal`` assignments (tuples of choices, budgets...); a name
    imported by ``from module import NAME`` is read from that module's source when asked for."""

    def __init__(self, tree: ast.Module) -> None:
        super().__init__()
        self.imports: dict[str, tuple[str, str]] = {}
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                self.imports.update({a.asname or a.name: (node.module, a.name) for a in node.names})
            elif (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
            ):
                try:
                    self[node.targets[0].id] = _literal(node.value, self)
                except _Unreadable:
                    pass

    def __contains__(self, name: object) -> bool:
        return super().__contains__(name) or (name in self.imports and self[name] is not _MISSING)

    def __missing__(self, name: str) -> Any:
        module, attr = self.imports.get(name, ("", ""))
        value = _module_constants(module).get(attr, _MISSING) if module else _MISSING
        self[name] = value
        return value


_MISSING = object()


@functools.cache
def _module_constants(module: str) -> _Constants | dict:
    """The literal constants of a module of ours, read from its source (others: none)."""
    if module.split(".")[0] in sys.stdlib_module_names:
        return {}
    try:
        spec = _find_spec(module)
    except (ImportError, ValueError):
        return {}
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return {}
    return _Constants(ast.parse(Path(spec.origin).read_text(encoding="utf-8")))


def _literal(node: ast.AST, constants: dict[str, Any]) -> Any:
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]  # (a _Constants reads an imported one on demand)
    if isinstance(node, ast.Name | ast.Attribute | ast.Call | ast.Lambda):
        raise _Unreadable
    if isinstance(node, ast.Tuple | ast.List):
        items = [_literal(e, constants) for e in node.elts]
        return tuple(items) if isinstance(node, ast.Tuple) else items
    if isinstance(node, ast.Dict):
        return {
            _literal(k, constants): _literal(v, constants) for k, v in zip(node.keys, node.values)
        }
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise _Unreadable from None


def _comments(source: str) -> dict[tuple[int, int], str]:
    """A reader of the comment that ends a line after a node: ``comments[(line, column)]``."""
    lines = source.splitlines()

    class _Trailing(dict):
        def __missing__(self, key: tuple[int, int]) -> str:
            row, col = key
            rest = lines[row - 1][col:].strip() if 0 < row <= len(lines) else ""
            return rest[1:].strip() if rest.startswith("#") else ""

        def within(self, node: ast.AST) -> str:
            """The first comment inside ``node``'s lines: a formatter may wrap a long default in
            parentheses, which moves its trailing comment inside them."""
            for row in range(node.lineno, (node.end_lineno or node.lineno) + 1):
                text = lines[row - 1] if 0 < row <= len(lines) else ""
                try:
                    tokens = list(
                        tokenize.generate_tokens(io.StringIO(text.strip() + "\n").readline)
                    )
                except (tokenize.TokenError, SyntaxError):
                    continue
                for tok in tokens:
                    if tok.type == tokenize.COMMENT:
                        return tok.string[1:].strip()
            return ""

    return _Trailing()


def config_settings(
    cls: ast.ClassDef, constants: dict[str, Any], comments: dict[tuple[int, int], str]
) -> list[Setting]:
    """The settings a Config dataclass declares (see the module docstring)."""
    checks = _validate_checks(cls, constants)
    out = []
    for node in cls.body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        name = node.target.id
        meta: dict[str, Any] = {}
        value = node.value
        if isinstance(value, ast.Call) and _name(value.func) == "field":
            kw = {k.arg: k.value for k in value.keywords}
            meta = _literal(kw["metadata"], constants) if "metadata" in kw else {}
            value = kw.get("default") or kw.get("default_factory")
        try:
            default = _literal(value, constants) if value is not None else None
        except _Unreadable:
            default = ast.unparse(value)
        annotation = ast.unparse(node.annotation)
        choices, bounds = checks.get(name, ((), ""))
        literal = re.fullmatch(r"Literal\[(.*)\]", annotation)
        if literal and not choices:
            choices = tuple(ast.literal_eval(f"({literal.group(1)},)"))
        out.append(
            Setting(
                name=name,
                type=annotation,
                default=default,
                help=meta.get("help")
                or comments[(node.end_lineno, node.end_col_offset)]
                or (comments.within(node) if hasattr(comments, "within") else "")
                or COMMON_MEANINGS.get(name, ""),
                choices=tuple(meta.get("choices", choices)),
                bounds=bounds,
                applies=meta.get("applies", ""),
            )
        )
    return out


def class_settings(class_source: str, module_source: str) -> list[Setting]:
    """The settings of the Config class whose source is ``class_source`` (constants from the module's)."""
    cls = ast.parse(class_source).body[0]
    if not isinstance(cls, ast.ClassDef):
        raise TypeError("class_source must be the source of one class.")
    return config_settings(cls, _Constants(ast.parse(module_source)), _comments(class_source))


def _validate_checks(cls: ast.ClassDef, constants: dict[str, Any]) -> dict[str, tuple[tuple, str]]:
    """Choices and ranges from ``check_choice`` / ``check_number`` calls in ``validate``."""
    out: dict[str, tuple[tuple, str]] = {}
    for fn in cls.body:
        if not (isinstance(fn, ast.FunctionDef) and fn.name == "validate"):
            continue
        for node in ast.walk(fn):
            if not (
                isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
            ):
                continue
            name, kind = node.args[0].value, _name(node.func)
            try:
                if kind == "check_choice" and len(node.args) >= 3:
                    out[name] = (
                        tuple(_literal(node.args[2], constants)),
                        out.get(name, ((), ""))[1],
                    )
                elif kind in ("check_number", "check_int_tuple"):
                    kw = {k.arg: _literal(k.value, constants) for k in node.keywords if k.arg}
                    out[name] = (out.get(name, ((), ""))[0], _bounds(kw, kind == "check_int_tuple"))
            except _Unreadable:
                continue
    return out


def _bounds(kw: dict[str, Any], each: bool) -> str:
    parts = []
    if kw.get("low") is not None:
        parts.append(f"{'>' if kw.get('low_open') else '>='} {kw['low']}")
    elif each:
        parts.append(">= 1")
    if kw.get("high") is not None:
        parts.append(f"{'<' if kw.get('high_open') else '<='} {kw['high']}")
    text = " and ".join(parts)
    if kw.get("integer"):
        text = f"an integer {text}".strip()
    return f"each {text}" if each and text else text


def annotation_from_text(text: str, default: Any = None) -> Any:
    """A typing object for an annotation written in the source (``"tuple[int, ...]"``)."""
    names = {
        "int": int,
        "float": float,
        "str": str,
        "bool": bool,
        "tuple": tuple,
        "None": None,
        "Literal": typing.Literal,
        "Optional": typing.Optional,
        "Any": typing.Any,
    }
    try:
        return eval(text, {"__builtins__": {}}, names)  # noqa: S307 - names above only, no builtins
    except Exception:  # any other annotation: judge by the default's type
        return type(default) if isinstance(default, int | float | str | bool) else typing.Any


# ------------------------------------------------------------------ learners


def learner_target(learners: dict[str, Any], key: str, settings: dict[str, Any]) -> str | None:
    """The ``"module:Class"`` of learner ``key``; a dict of targets is chosen by the setting
    of the same name (``learners={"agent": {"pg": ..., "dqn": ...}}`` follows ``agent``)."""
    target = learners[key]
    if isinstance(target, dict):
        return target.get(settings.get(key))
    return target


def learner_settings(target: str) -> list[Setting]:
    """The keyword parameters of ``"module:Class"``'s constructor, as settings (``seed`` left out:
    the run's seed is the one source of randomness)."""
    module, _, cls_name = target.partition(":")
    params, doc = _constructor(module, cls_name, set())
    helps = docstring_parameters(doc)
    return [
        Setting(name=p, type=ann, default=default, help=helps.get(p, ""))
        for p, ann, default in params
        if p != "seed"
    ]


def _constructor(module: str, cls_name: str, seen: set) -> tuple[list[tuple[str, str, Any]], str]:
    """(params, docstring) of a class's ``__init__``, following bases through imports by source."""
    if (module, cls_name) in seen:
        raise LookupError(f"{module}:{cls_name}: circular bases.")
    seen.add((module, cls_name))
    spec = _find_spec(module)
    if spec is None or not spec.origin:
        raise LookupError(f"no module named {module!r}.")
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    imported = {
        a.asname or a.name: (n.module, a.name)
        for n in tree.body
        if isinstance(n, ast.ImportFrom) and n.module
        for a in n.names
    }
    if cls_name not in classes:
        if cls_name in imported:
            return _constructor(*imported[cls_name], seen)
        raise LookupError(f"module {module} has no class {cls_name!r}.")
    cls = classes[cls_name]
    doc = ast.get_docstring(cls) or ""
    for fn in cls.body:
        if isinstance(fn, ast.FunctionDef) and fn.name == "__init__":
            return _signature(fn), doc
    for base in cls.bases:
        name = _name(base)
        if name in classes or name in imported:
            params, base_doc = _constructor(
                module if name in classes else imported[name][0],
                name if name in classes else imported[name][1],
                seen,
            )
            return params, doc if docstring_parameters(doc) else base_doc
    return [], doc


def _signature(fn: ast.FunctionDef) -> list[tuple[str, str, Any]]:
    a = fn.args
    positional = a.posonlyargs + a.args
    pairs = list(zip(positional[len(positional) - len(a.defaults) :], a.defaults))
    pairs += [(arg, d) for arg, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None]
    out = []
    for arg, default in pairs:
        try:
            value = _literal(default, {})
        except _Unreadable:
            value = ast.unparse(default)
        out.append((arg.arg, ast.unparse(arg.annotation) if arg.annotation else "", value))
    return out


def docstring_parameters(doc: str) -> dict[str, str]:
    """``{name: meaning}`` from a numpydoc ``Parameters`` section; ``a, b : text`` gives both."""
    lines = doc.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "Parameters") + 2
    except StopIteration:
        return {}
    end = next(
        (i for i in range(start, len(lines) - 1) if re.fullmatch(r"\s*-{3,}\s*", lines[i + 1])),
        len(lines),
    )
    out: dict[str, str] = {}
    current: list[str] = []
    for line in lines[start:end]:
        if not line.strip():
            continue
        entry = (
            re.match(r"^(\w[\w, ]*?)\s+:\s*(.*)$", line)
            if not line.startswith((" ", "\t"))
            else None
        )
        if entry:
            current = [n.strip() for n in entry.group(1).split(",")]
            for name in current:
                out[name] = entry.group(2).strip()
        elif current:
            for name in current:
                out[name] += " " + line.strip()
    return out
