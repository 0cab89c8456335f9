"""Paradigms side by side: the same work learned with labels, without labels, from reward, and by planning.

    sandbox run paradigms [--seed N] [--set n_seeds=5 ...]
    sandbox run tour --set only=paradigms        # the short version the tour runs

Two pieces of work, each done several ways, each way run over ``n_seeds`` seeds
(``seed``, ``seed + 1``, ...) and drawn as a mean curve with a 95 % band:

1. **Reading handwritten digits** (scikit-learn's 8x8 ``load_digits``), scored
   as accuracy on held-out digits against how much feedback the learner got:

   - *with labels* (supervised): softmax regression, an MLP and a small conv
     net, trained on the first N labelled training digits;
   - *without labels* (unsupervised): k-means groups all the training digits
     without looking at a label; then the first N labelled digits name the
     clusters (each cluster takes the most common label among them);
   - *from reward alone* (a contextual bandit): LinUCB sees one digit at a
     time, guesses, and is told only "right" (reward 1) or "wrong" (0) - N
     such rewards, never a label.

2. **Crossing FrozenLake 8x8** (slippery ice; reach the goal within 200 steps),
   scored as the share of episodes that reach the goal:

   - *planning with the model*: value iteration reads the rules (the transition
     table) and computes the best policy without taking a single step; its
     success rate is exact, drawn as a line;
   - *tabular learning*: Q-learning and SARSA keep a table of values, learning
     from experience only;
   - *deep RL*: PolicyGradient and DQN learn a neural network from experience.

   The curves are the success rate of the training episodes (exploration
   included) against environment steps; the table also scores each final greedy
   policy exactly, from the transition table.

A closing table says what each paradigm needed: labels, rewards, a model,
environment steps and seconds. The run folder holds ``report.html`` (one file,
figures inlined) and ``report.md``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from agents import DQN, SARSA, KMeans, PolicyGradient, QLearning, ValueIteration
from agents.bandit import LinUCB
from agents.mlp import MLPClassifier
from agents.planning import policy_value, transition_model
from envs.contextual_bandit import ContextualBandit
from sandbox import plots, stats
from sandbox.checks import check_int_tuple, check_number
from sandbox.experiment import Experiment, Run
from sandbox.progress import Reporter
from sandbox.report import Report
from sandbox.seeding import derive_rng
from sandbox.threads import torch_threads

LAKE, HORIZON = "FrozenLake8x8-v1", 200
DIGIT_LEARNERS = {  # name -> (paradigm, summary key of its final test accuracy)
    "softmax regression": ("supervised", "digits_softmax_accuracy"),
    "MLP": ("supervised", "digits_mlp_accuracy"),
    "conv net": ("supervised", "digits_conv_accuracy"),
    "k-means + naming": ("unsupervised", "digits_kmeans_accuracy"),
    "LinUCB": ("reward only: a bandit", "digits_linucb_accuracy"),
}
LAKE_LEARNERS = {  # name -> (paradigm, summary key of its final greedy success rate)
    "Q-learning": ("tabular RL", "q_learning_success"),
    "SARSA": ("tabular RL", "sarsa_success"),
    "PolicyGradient": ("deep RL", "policy_gradient_success"),
    "DQN": ("deep RL", "dqn_success"),
}


@dataclass
class Config:
    seed: int = 0
    n_seeds: int = 3  # each learner runs with seeds seed, seed + 1, ..., for the bands
    parts: str = (
        "digits,frozenlake"  # which lessons to run: digits, frozenlake or both, comma-separated
    )
    label_budgets: tuple[int, ...] = (
        10,
        30,
        100,
        300,
        1000,
    )  # labels (or rewards) seen, the x axis
    updates: int = 200  # gradient steps of each supervised fit, whatever the number of labels
    clusters: int = 10  # k of the k-means learner (each cluster named by the labels seen)
    bandit_c: float = 1.0  # LinUCB's exploration weight (width of its confidence bonus)
    tabular_steps: int = 200_000  # env steps for Q-learning and SARSA
    deep_steps: int = (
        10_000  # env steps for PolicyGradient and DQN (each step costs a network pass)
    )
    curve_points: int = 40

    def validate(self) -> None:
        check_number("n_seeds", self.n_seeds, low=1, integer=True)
        unknown = set(self.part_names()) - {"digits", "frozenlake"}
        if unknown or not self.part_names():
            raise ValueError(
                f"parts={self.parts!r}: choose digits, frozenlake or both (comma-separated)."
            )
        check_int_tuple("label_budgets", self.label_budgets)
        if list(self.label_budgets) != sorted(set(self.label_budgets)):
            raise ValueError(f"label_budgets={self.label_budgets!r} must increase, each once.")
        for key in ("updates", "clusters", "tabular_steps", "deep_steps"):
            check_number(key, getattr(self, key), low=1, integer=True)
        check_number("curve_points", self.curve_points, low=2, integer=True)
        check_number("bandit_c", self.bandit_c, low=0.0)

    def part_names(self) -> list[str]:
        return [p.strip() for p in self.parts.split(",") if p.strip()]

    def seeds(self) -> list[int]:
        return [self.seed + i for i in range(self.n_seeds)]


# ------------------------------------------------------------------ digits


def digits_split(seed: int) -> dict[str, np.ndarray]:
    """Pixels scaled to [0, 1], a stratified 70/30 split, and an order of the training digits in
    which to reveal labels: one of each digit first (round robin over the shuffled classes)."""
    data = load_digits()
    images, y = data.images / 16.0, data.target
    idx_tr, idx_te = train_test_split(
        np.arange(len(y)), test_size=0.3, random_state=seed, stratify=y
    )
    rng = derive_rng(seed, "label order")
    per_class = [rng.permutation(idx_tr[y[idx_tr] == c]).tolist() for c in range(10)]
    order = [
        lists[i] for i in range(max(map(len, per_class))) for lists in per_class if i < len(lists)
    ]
    position = {v: i for i, v in enumerate(idx_tr)}
    return {
        "train_images": images[idx_tr],
        "train_y": y[idx_tr],
        "test_images": images[idx_te],
        "test_y": y[idx_te],
        "order": np.array([position[i] for i in order]),
    }


def supervised(
    name: str, images: np.ndarray, labels: np.ndarray, cfg: Config, seed: int
) -> MLPClassifier:
    """Fit one supervised learner on these labelled images for ``cfg.updates`` gradient steps."""
    batch = min(32, len(labels))
    epochs = max(
        1, -(-cfg.updates // -(-len(labels) // batch))
    )  # updates / batches per epoch, rounded up
    common = {"batch_size": batch, "epochs": epochs, "learning_rate": 3e-3, "seed": seed}
    if name == "conv net":
        return MLPClassifier(hidden=(64,), conv_channels=(8, 16), **common).fit(images, labels)
    hidden = () if name == "softmax regression" else (64,)
    return MLPClassifier(hidden=hidden, **common).fit(images.reshape(len(images), -1), labels)


def digits_seed(cfg: Config, seed: int, progress: bool = False) -> dict:
    """Test accuracy of every digit learner at every label budget, and the seconds each took."""
    d = digits_split(seed)
    X_tr, X_te = (
        d["train_images"].reshape(len(d["train_y"]), -1),
        d["test_images"].reshape(len(d["test_y"]), -1),
    )
    y_tr, y_te, order = d["train_y"], d["test_y"], d["order"]
    if cfg.label_budgets[-1] > len(y_tr):
        raise ValueError(
            f"label_budgets goes up to {cfg.label_budgets[-1]}, but there are only {len(y_tr)} training digits."
        )
    acc: dict[str, list[float]] = {name: [] for name in DIGIT_LEARNERS}
    seconds = dict.fromkeys(DIGIT_LEARNERS, 0.0)
    fits = (
        4 * len(cfg.label_budgets) + 1
    )  # many short fits: one bar over them all, the fits themselves quiet
    with Reporter(None, progress, desc=f"digits, seed {seed}", unit="fits", total=fits) as report:
        for name in ("softmax regression", "MLP", "conv net"):
            for n in cfg.label_budgets:
                start = time.perf_counter()
                model = supervised(name, d["train_images"][order[:n]], y_tr[order[:n]], cfg, seed)
                test = d["test_images"] if name == "conv net" else X_te
                acc[name].append(float(np.mean(model.act(test) == y_te)))
                seconds[name] += time.perf_counter() - start
                report(done=len(acc["softmax regression"]) + len(acc["MLP"]) + len(acc["conv net"]))

        start = time.perf_counter()
        km = KMeans(k=cfg.clusters, n_init=3, seed=seed).fit(X_tr)  # every training digit, no label
        train_cluster, test_cluster = km.act(X_tr), km.act(X_te)
        for n in cfg.label_budgets:
            names = name_clusters(train_cluster[order[:n]], y_tr[order[:n]], cfg.clusters)
            acc["k-means + naming"].append(float(np.mean(names[test_cluster] == y_te)))
        seconds["k-means + naming"] = time.perf_counter() - start
        report(done=3 * len(cfg.label_budgets) + 1)

        mean, std = X_tr.mean(axis=0), X_tr.std(axis=0)
        std[std == 0] = 1.0  # the always-blank border pixels
        for n in cfg.label_budgets:
            start = time.perf_counter()
            env = ContextualBandit(((X_tr - mean) / std, y_tr), standardize=False)
            agent = LinUCB(c=cfg.bandit_c, seed=seed).fit(env, steps=n)
            acc["LinUCB"].append(
                float(np.mean(env.classes[agent.act((X_te - mean) / std)] == y_te))
            )
            seconds["LinUCB"] += time.perf_counter() - start
            report(done=3 * len(cfg.label_budgets) + 1 + len(acc["LinUCB"]))
    return {"accuracy": acc, "seconds": seconds, "train": int(len(y_tr)), "test": int(len(y_te))}


def name_clusters(clusters: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """The label each cluster stands for: the most common label among the labelled digits in it;
    a cluster no labelled digit fell into takes the most common label overall."""
    fallback = np.bincount(labels, minlength=10).argmax()
    names = np.full(k, fallback)
    for c in range(k):
        inside = labels[clusters == c]
        if len(inside):
            names[c] = np.bincount(inside, minlength=10).argmax()
    return names


# ------------------------------------------------------------------ FrozenLake


def lake_agent(name: str, seed: int) -> QLearning | SARSA | PolicyGradient | DQN:
    """A fresh learner of the lake; hyperparameters in the shared vocabulary (docs/vocabulary.md)."""
    if name in (
        "Q-learning",
        "SARSA",
    ):  # explore for the first half of the budget, then mostly exploit
        cls = QLearning if name == "Q-learning" else SARSA
        return cls(
            learning_rate=0.1,
            gamma=0.99,
            epsilon_start=1.0,
            epsilon_end=0.05,
            exploration_fraction=0.5,
            seed=seed,
        )
    if name == "PolicyGradient":
        return PolicyGradient(hidden=(64,), gamma=0.99, seed=seed)
    return DQN(hidden=(64,), gamma=0.99, seed=seed)


def lake_seed(cfg: Config, seed: int, progress: bool = False) -> dict:
    """Training-success curves and exact greedy success of every lake learner for one seed."""
    model = transition_model(LAKE)
    states = np.arange(model.n_states)
    out: dict[str, dict] = {}
    for name in LAKE_LEARNERS:
        steps = cfg.tabular_steps if name in ("Q-learning", "SARSA") else cfg.deep_steps
        start = time.perf_counter()
        agent = lake_agent(name, seed).fit(
            LAKE, steps=steps, progress=progress
        )  # few long fits: a bar each
        seconds = time.perf_counter() - start
        greedy = np.asarray(agent.act(states)).reshape(-1)  # the greedy action in every state
        returns = np.asarray(agent.history_["episode_returns"], dtype=float)
        lengths = np.asarray(agent.history_["episode_lengths"], dtype=float)
        out[name] = {
            "curve": training_curve(returns, lengths, steps, cfg.curve_points),
            "seconds": seconds,
            "greedy_success": float(policy_value(model, greedy, horizon=HORIZON)[0]),
            "steps": steps,
        }
    return out


def training_curve(
    returns: np.ndarray, lengths: np.ndarray, budget: int, points: int, window: int = 100
) -> list[list[float]]:
    """Success rate of the last ``window`` training episodes finished by each of ``points`` step
    counts up to ``budget`` (on FrozenLake an episode's return is 1 exactly when it reached the goal);
    0 before the first episode ends. Pairs [steps, success rate]."""
    ends = np.cumsum(lengths)
    curve = []
    for x in np.linspace(budget / points, budget, points):
        done = int(np.searchsorted(ends, x, side="right"))
        curve.append(
            [float(x), float(np.mean(returns[max(0, done - window) : done] > 0)) if done else 0.0]
        )
    return curve


def planning() -> dict:
    """Value iteration on the lake's transition table, its greedy policy scored exactly."""
    start = time.perf_counter()
    plan = ValueIteration(gamma=0.999).fit(LAKE)
    model = transition_model(LAKE)
    return {
        "success": float(policy_value(model, plan.policy_, horizon=HORIZON)[0]),
        "seconds": time.perf_counter() - start,
        "sweeps": int(plan.n_iter_),
    }


# ------------------------------------------------------------------ run


def run(cfg: Config, run: Run) -> dict:
    with torch_threads(1):  # small networks: one thread is as fast and leaves the other core alone
        return _run(cfg, run)


def _run(cfg: Config, run: Run) -> dict:
    report = Report("Paradigms side by side")
    report.text(
        "The same work, learned four ways: from labels (supervised), from no labels at all (unsupervised), "
        "from a reward signal (reinforcement learning), and from the rules of the world (planning). "
        f"Every learner ran with {cfg.n_seeds} seed(s) ({', '.join(map(str, cfg.seeds()))}); a line is the "
        "mean over seeds and the shaded band its 95 % confidence interval (Student t)."
    )
    summary: dict = {"seeds": cfg.seeds()}
    needs: list[list] = []
    if "digits" in cfg.part_names():
        summary.update(digits_part(cfg, run, report, needs))
    if "frozenlake" in cfg.part_names():
        summary.update(lake_part(cfg, run, report, needs))
    report.heading("What each paradigm needed")
    headers = [
        "task",
        "learner",
        "paradigm",
        "labels",
        "rewards",
        "model of the world",
        "env steps",
        "seconds (mean)",
        "result (mean over seeds)",
    ]
    run.say("\nWhat each paradigm needed:")
    run.table("needs", headers, needs)
    report.table(headers, needs)
    report.text(
        "Labels: examples with the right answer attached. Rewards: a number saying how good an action was "
        "(here 1 for a right guess or for reaching the goal, 0 otherwise), never the right answer itself. "
        "A model: the rules of the world (where each move can lead, with what probability). "
        "Seconds are wall-clock on this machine, all label budgets or the whole training included.",
        note=True,
    )
    md, page = report.write(run.dir)
    run.say(f"  report: {page}")
    summary["report"] = str(page)
    return summary


def digits_part(cfg: Config, run: Run, report: Report, needs: list[list]) -> dict:
    per_seed = [
        run.stage(
            f"digits_seed{s}", lambda s=s: digits_seed(cfg, s, run.progress(f"digits_seed{s}"))
        )
        for s in cfg.seeds()
    ]
    budgets = list(cfg.label_budgets)
    curves = {}
    for name in DIGIT_LEARNERS:
        curves[name] = stats.band([(budgets, r["accuracy"][name]) for r in per_seed])
        for i, n in enumerate(budgets):
            run.log(f"digits/{name}", n, test_accuracy=float(curves[name]["mean"][i]))
    legend = {f"{name}: {DIGIT_LEARNERS[name][0]}": curves[name] for name in DIGIT_LEARNERS}
    fig = plots.bands(
        legend,
        count_in_legend=False,
        xlabel="labels (or right/wrong rewards) the learner was given, log scale",
        ylabel="accuracy on digits it never saw",
        logx=True,
        ylim=(0, 1),
        hlines={"guessing (1 in 10)": 0.1},
        title="Reading handwritten digits: how much feedback does each paradigm need?",
        note=f"Mean of {cfg.n_seeds} seed(s); shaded: 95 % interval. {per_seed[0]['train']} training and "
        f"{per_seed[0]['test']} test digits (8x8 pixels).\n"
        "k-means sees every training digit but uses labels only to name its clusters.",
    )
    path = run.save_plot(fig, "digits")
    report.heading("Reading handwritten digits")
    report.text(
        "Each learner gets the first N training digits with their labels (supervised), or all training digits "
        "without labels plus N labels to name its clusters (k-means), or N guesses each answered only with "
        "right or wrong (LinUCB, a contextual bandit). Accuracy is measured on test digits none of them saw."
    )
    report.figure(
        path.read_bytes(),
        "digits",
        "Test accuracy against the labels or rewards given; bands: 95 % interval over seeds.",
    )
    rows, summary = [], {}
    for name, (paradigm, key) in DIGIT_LEARNERS.items():
        final = stats.describe([r["accuracy"][name][-1] for r in per_seed])
        secs = float(np.mean([r["seconds"][name] for r in per_seed]))
        summary[key] = final["mean"]
        labels = (
            "none"
            if name == "LinUCB"
            else (f"0 to learn, {budgets[-1]} to name" if name.startswith("k-") else budgets[-1])
        )
        rewards = budgets[-1] if name == "LinUCB" else "none"
        needs.append(
            [
                "digits",
                name,
                paradigm,
                labels,
                rewards,
                "no",
                "-",
                round(secs, 2),
                f"test accuracy {stats.fmt(final, 3)}",
            ]
        )
        rows.append(
            [
                name,
                paradigm,
                *[round(float(curves[name]["mean"][i]), 3) for i in range(len(budgets))],
            ]
        )
    run.say(f"\nDigits: test accuracy (mean over {cfg.n_seeds} seeds) after N labels or rewards:")
    run.table("digits", ["learner", "paradigm", *[f"N={n}" for n in budgets]], rows)
    report.table(["learner", "paradigm", *[f"N={n}" for n in budgets]], rows)
    return summary


def lake_part(cfg: Config, run: Run, report: Report, needs: list[list]) -> dict:
    plan = run.stage("value_iteration", planning)
    per_seed = [
        run.stage(
            f"frozenlake_seed{s}",
            lambda s=s: lake_seed(cfg, s, run.progress(f"frozenlake_seed{s}")),
        )
        for s in cfg.seeds()
    ]
    curves = {}
    for name in LAKE_LEARNERS:
        curves[name] = stats.band([tuple(zip(*r[name]["curve"])) for r in per_seed])
        for x, m in zip(curves[name]["x"], curves[name]["mean"]):
            run.log(f"frozenlake/{name}", float(x), training_success=float(m))
    legend = {f"{name}: {LAKE_LEARNERS[name][0]}": curves[name] for name in curves}
    fig = plots.bands(
        legend,
        count_in_legend=False,
        logx=True,
        legend_loc="upper left",
        xlabel="environment steps taken while learning, log scale",
        ylabel="share of episodes reaching the goal",
        hlines={"value iteration: the best possible policy (planning, 0 steps)": plan["success"]},
        ylim=(0, 1),
        title="Crossing slippery FrozenLake 8x8: planning vs learning from experience",
        note=f"Mean of {cfg.n_seeds} seed(s); shaded: 95 % interval. Curves: the last 100 training "
        "episodes, exploration included.\nThe dashed line is exact, computed from the rules without playing.",
    )
    path = run.save_plot(fig, "frozenlake")
    report.heading("Crossing FrozenLake 8x8")
    report.text(
        "The agent starts in one corner of an 8x8 frozen lake and must reach the other within 200 steps; "
        "the ice is slippery (a move goes sideways two times in three) and holes end the episode. "
        "Value iteration knows these rules and plans; the other learners only play and learn from the "
        "reward at the goal."
    )
    report.figure(
        path.read_bytes(),
        "frozenlake",
        "Success rate of the training episodes against environment steps; "
        "bands: 95 % interval over seeds.",
    )
    summary = {"value_iteration_success": plan["success"]}
    needs.append(
        [
            "FrozenLake 8x8",
            "value iteration",
            "planning",
            "none",
            "read from the model",
            "yes (transition table)",
            0,
            round(plan["seconds"], 2),
            f"success {plan['success']:.3f} (exact)",
        ]
    )
    for name, (paradigm, key) in LAKE_LEARNERS.items():
        final = stats.describe([r[name]["greedy_success"] for r in per_seed])
        secs = float(np.mean([r[name]["seconds"] for r in per_seed]))
        summary[key] = final["mean"]
        needs.append(
            [
                "FrozenLake 8x8",
                name,
                paradigm,
                "none",
                "one per step",
                "no",
                per_seed[0][name]["steps"],
                round(secs, 2),
                f"greedy success {stats.fmt(final, 3)}",
            ]
        )
    report.text(
        "Result column for the learners: the success rate of the final greedy policy (no exploration), "
        "computed exactly from the transition table; value iteration's is the best any policy reaches.",
        note=True,
    )
    return summary


EXPERIMENT = Experiment(
    "paradigms",
    "paradigms side by side: digits with labels, without labels and from reward; FrozenLake by planning, tabular and deep RL",
    Config,
    run,
    tour={
        "n_seeds": 2,
        "label_budgets": (10, 100, 500),
        "updates": 150,
        "tabular_steps": 50_000,
        "deep_steps": 3000,
        "curve_points": 10,
    },
    tour_order=5,
    paradigm="all, side by side",
    headline=(
        "digits_softmax_accuracy",
        "digits_conv_accuracy",
        "digits_kmeans_accuracy",
        "digits_linucb_accuracy",
        "q_learning_success",
        "value_iteration_success",
    ),
)

if __name__ == "__main__":
    from sandbox.cli import script_main

    raise SystemExit(script_main(EXPERIMENT))
