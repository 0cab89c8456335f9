import math

import numpy as np
import pytest

from sandbox.errors import DivergenceError
from sandbox.nn import NetSpec, build_network
from sandbox.optim import OptimConfig, Optimizer
from sandbox.train import EarlyStopping, TorchTrainee, fit_loop


class Scripted:
    """A trainee whose losses are scripted, to test the loop's bookkeeping alone."""

    metric = "accuracy"

    def __init__(self, train_losses, val_losses, poison_at=None):
        self.train_losses, self.val_losses = iter(train_losses), iter(val_losses)
        self.w = np.zeros(1)
        self.epoch = 0
        self.poison_at = poison_at

    def prepare(self, X, y):
        return X, y

    def train_epoch(self, X, y, order, batch_size):
        self.epoch += 1
        loss = next(self.train_losses)
        if self.poison_at == self.epoch:
            self.w[:] = np.nan  # the weights broke before the loss did
        if not math.isfinite(loss):
            raise DivergenceError(f"the loss became {loss} at update 7")
        self.w += 1
        return loss, 1.0

    def score(self, X, y):
        return next(self.val_losses), 1.0

    def snapshot(self):
        return self.w.copy()

    def restore(self, snap):
        self.w[:] = snap

    def weights_finite(self):
        return bool(np.isfinite(self.w).all())


X = np.zeros((4, 1))
Y = np.zeros(4)


def test_history_and_early_stopping_with_restore_best():
    t = Scripted([1.0] * 20, [5, 4, 3, 3.5, 3.2, 3.1, 9, 9])
    r = fit_loop(
        t,
        X,
        Y,
        epochs=20,
        batch_size=4,
        rng=np.random.default_rng(0),
        validation=(X, Y),
        early_stopping=EarlyStopping(patience=2),
    )
    assert r.best_epoch == 3 and r.stopped_epoch == 6 and r.epochs_run == 6
    assert r.history["val_loss"] == [5, 4, 3, 3.5, 3.2, 3.1]
    assert r.history["loss"] == [1.0] * 6 and r.history["accuracy"] == [1.0] * 6
    assert t.w[0] == 3  # the weights after epoch 3 were put back


def test_min_delta_counts_small_gains_as_no_improvement():
    t = Scripted([1.0] * 10, [5, 4.95, 4.9, 4.85])
    r = fit_loop(
        t,
        X,
        Y,
        epochs=10,
        batch_size=4,
        rng=np.random.default_rng(0),
        validation=(X, Y),
        early_stopping=EarlyStopping(patience=1, min_delta=0.1, restore_best=False),
    )
    assert r.best_epoch == 1 and r.stopped_epoch == 3 and t.w[0] == 3


def test_divergence_keeps_finite_weights_and_names_the_epoch():
    t = Scripted([1.0, 1.0, math.inf], [3, 2])
    with pytest.raises(
        DivergenceError, match=r"diverged in epoch 3: the loss became inf.*current weights"
    ) as info:
        fit_loop(t, X, Y, epochs=5, batch_size=4, rng=np.random.default_rng(0), validation=(X, Y))
    assert info.value.epoch == 3 and info.value.result.history["val_loss"] == [3, 2]
    assert t.w[0] == 2


def test_divergence_with_broken_weights_restores_the_last_epoch():
    t = Scripted([1.0, 1.0, math.nan], [3, 2], poison_at=3)
    with pytest.raises(DivergenceError, match="weights from the end of epoch 2 were restored"):
        fit_loop(t, X, Y, epochs=5, batch_size=4, rng=np.random.default_rng(0))
    assert t.w[0] == 2


def test_non_finite_validation_loss_is_divergence():
    t = Scripted([1.0] * 3, [3, math.nan])
    with pytest.raises(DivergenceError, match="epoch 2: the validation loss became nan"):
        fit_loop(t, X, Y, epochs=3, batch_size=4, rng=np.random.default_rng(0), validation=(X, Y))
    assert t.w[0] == 1


def test_early_stopping_needs_validation_and_checks_its_settings():
    with pytest.raises(ValueError, match="early stopping needs validation data"):
        fit_loop(
            Scripted([1.0], []),
            X,
            Y,
            epochs=1,
            batch_size=1,
            rng=np.random.default_rng(0),
            early_stopping=EarlyStopping(),
        )
    with pytest.raises(ValueError, match="patience=-1"):
        EarlyStopping(patience=-1).validate()


def test_torch_trainee_mean_epoch_loss_weights_batches_by_size():
    net = build_network(NetSpec(2, 1), seed=0)
    opt = Optimizer(
        net.parameters(), OptimConfig(name="sgd", lr=1e-9)
    )  # effectively frozen weights
    t = TorchTrainee(net, opt, "mse")
    Xd = np.random.default_rng(0).normal(size=(10, 2))
    yd = np.zeros(10)
    r = fit_loop(
        t, Xd, yd, epochs=1, batch_size=4, rng=np.random.default_rng(0)
    )  # batches of 4, 4, 2
    full, _ = t.score(*t.prepare(Xd, yd))
    assert r.history["loss"][0] == pytest.approx(full, rel=1e-5)


def test_weights_broken_by_the_last_update_of_an_epoch_are_caught():
    t = Scripted([1.0, 1.0], [], poison_at=2)
    t.train_losses = iter([1.0, 1.0])
    with pytest.raises(
        DivergenceError,
        match="epoch 2: the weights became non-finite.*end of epoch 1 were restored",
    ):
        fit_loop(t, X, Y, epochs=2, batch_size=4, rng=np.random.default_rng(0))
    assert t.w[0] == 1


def test_optimizer_without_the_norm_pass_still_stops_on_a_bad_loss():
    import torch

    net = build_network(NetSpec(2, 1), seed=0)
    opt = Optimizer(net.parameters(), OptimConfig(name="sgd", lr=0.1, grad_norm=False))
    assert len(opt.torch.param_groups) == 1  # no L2: weights and biases share a group
    assert math.isnan(opt.step(net(torch.ones(3, 2)).pow(2).mean()))
    before = [p.detach().clone() for p in net.parameters()]
    with pytest.raises(DivergenceError, match="loss became nan at update 2"):
        opt.step(net(torch.ones(3, 2)).sum() * float("nan"))
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
