import math

import pytest
import torch

from sandbox.errors import DivergenceError
from sandbox.optim import OPTIMIZERS, OptimConfig, make_optimizer, schedule_factor


def _quadratic_run(name, steps=200, **kw):
    w = torch.nn.Parameter(torch.tensor([[3.0, -2.0]]))
    opt = make_optimizer([w], name, lr=kw.pop("lr", 0.05), **kw)
    for _ in range(steps):
        opt.step(((w - torch.tensor([[1.0, 1.0]])) ** 2).sum())
    return w.detach(), opt


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_finds_the_minimum_of_a_bowl(name):
    w, _ = _quadratic_run(name, steps=400)
    assert torch.allclose(w, torch.tensor([[1.0, 1.0]]), atol=0.05)


def test_l2_shrinks_and_l1_zeroes_a_useless_weight():
    w_plain, _ = _quadratic_run("sgd")
    w_l2, _ = _quadratic_run("sgd", l2=1.0)
    assert w_l2.abs().sum() < w_plain.abs().sum()
    # a weight with no pull from the data goes to (about) zero under L1 and stays put without it
    for l1, expect_zero in ((0.0, False), (0.5, True)):
        w = torch.nn.Parameter(torch.tensor([[0.8, 2.0]]))
        opt = make_optimizer([w], "sgd", lr=0.01, l1=l1)
        for _ in range(400):
            opt.step((w[0, 1] - 2.0) ** 2)
        assert (abs(float(w.detach()[0, 0])) < 0.01) is expect_zero


def test_biases_are_not_penalised():
    b = torch.nn.Parameter(torch.tensor([5.0]))
    opt = make_optimizer([b], "sgd", lr=0.1, l2=10.0, l1=10.0)
    opt.step(b.sum() * 0.0)
    assert float(b.detach()) == 5.0


def test_clipping_bounds_the_step():
    w = torch.nn.Parameter(torch.zeros(1, 3))
    opt = make_optimizer([w], "sgd", lr=1.0, clip_norm=0.5)
    norm = opt.step((w * torch.tensor([[100.0, 0.0, 0.0]])).sum())
    assert norm == pytest.approx(100.0)
    assert float(w.detach().norm()) == pytest.approx(0.5, rel=1e-4)


def test_schedules():
    lin = OptimConfig(schedule="linear", total_steps=10, final_lr_fraction=0.1).validate()
    cos = OptimConfig(schedule="cosine", total_steps=10).validate()
    step = OptimConfig(schedule="step", step_size=3, gamma=0.5).validate()
    assert [schedule_factor(lin, s) for s in (0, 5, 10, 20)] == pytest.approx([1.0, 0.55, 0.1, 0.1])
    assert [schedule_factor(cos, s) for s in (0, 5, 10)] == pytest.approx([1.0, 0.5, 0.0])
    assert [schedule_factor(step, s) for s in (0, 2, 3, 7)] == pytest.approx([1.0, 1.0, 0.5, 0.25])
    _, opt = _quadratic_run("adam", steps=5, schedule="linear", total_steps=10, lr=0.2)
    assert opt.lr == pytest.approx(0.1)


def test_non_finite_loss_stops_before_touching_weights():
    w = torch.nn.Parameter(torch.tensor([[1.0]]))
    opt = make_optimizer([w], "sgd", lr=0.1)
    with pytest.raises(
        DivergenceError, match=r"update 1 \(learning rate 0.1\).*smaller learning rate"
    ):
        opt.step(w.sum() * math.inf)
    assert float(w.detach()) == 1.0


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(name="adagrad"), "optimizer='adagrad'"),
        (dict(name="adm"), "Did you mean 'adam'"),
        (dict(lr=0.0), "learning_rate=0.0"),
        (dict(lr=-1), "learning_rate=-1"),
        (dict(lr=float("nan")), "learning_rate=nan"),
        (dict(l2=-0.1), "l2=-0.1"),
        (dict(clip_norm=0), "clip_norm=0"),
        (dict(schedule="cosine"), "needs total_steps"),
        (dict(schedule="warmup"), "schedule='warmup'"),
        (dict(schedule="step"), "needs step_size"),
        (dict(momentum=1.0), "momentum=1.0"),
    ],
)
def test_bad_settings_are_named(kw, match):
    with pytest.raises(ValueError, match=match):
        make_optimizer([torch.nn.Parameter(torch.zeros(1))], **kw)


def test_unknown_setting_and_no_parameters():
    with pytest.raises(ValueError, match="unknown optimizer setting"):
        make_optimizer([torch.nn.Parameter(torch.zeros(1))], weight_decay=0.1)
    with pytest.raises(ValueError, match="no parameters"):
        make_optimizer([])


def test_step_with_grads_equals_step():
    # Gradients set from outside (as the deep agents' torch engine does) give the same update as step(loss),
    # L1 term, clipping and schedule included.
    torch.manual_seed(0)
    X, y = torch.randn(16, 3), torch.randn(16)
    w0 = torch.randn(3)
    ws = [w0.clone().requires_grad_(), w0.clone().requires_grad_()]
    kw = dict(name="adam", lr=0.1, l1=0.01, clip_norm=0.5, schedule="linear", total_steps=4)
    a, b = make_optimizer([ws[0]], **kw), make_optimizer([ws[1]], **kw)
    for _ in range(3):
        a.step(((X @ ws[0] - y) ** 2).mean())
        loss = ((X @ ws[1] - y) ** 2).mean()
        (ws[1].grad,) = torch.autograd.grad(loss, [ws[1]])
        b.step_with_grads(float(loss.detach()))
    torch.testing.assert_close(ws[0], ws[1])
    assert a.lr == b.lr
    with pytest.raises(DivergenceError, match="loss became nan"):
        b.step_with_grads(float("nan"))
