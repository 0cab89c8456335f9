"""The from-scratch engine against torch autograd, in float64, to 1e-6 relative."""

import warnings

import numpy as np
import pytest
import torch

from sandbox.nn import ACTIVATIONS, NetSpec, build_network
from sandbox.optim import OPTIMIZERS, OptimConfig, Optimizer
from sandbox.scratch import ScratchNet, ScratchOptimizer, mse_loss, softmax_cross_entropy

ARCHS = [(), (7,), (5, 4), (6, 3, 5)]


def _torch_grads(spec, seed, X, y, loss):
    net = build_network(spec, seed=seed, dtype=torch.float64)
    out = net(torch.from_numpy(X))
    if loss == "mse":
        value = torch.mean((out - torch.from_numpy(y)) ** 2)
    else:
        value = torch.nn.functional.cross_entropy(out, torch.from_numpy(y))
    value.backward()
    grads = []
    for lin in net.dense_layers:
        grads += [lin.weight.grad.numpy(), lin.bias.grad.numpy()]
    return float(value.detach()), grads


def _assert_close(a, b):
    scale = max(np.abs(b).max(), 1e-12)
    assert np.abs(a - b).max() / scale < 1e-6


@pytest.mark.parametrize("hidden", ARCHS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_every_gradient_matches_autograd(hidden, activation, loss):
    rng = np.random.default_rng(len(hidden) * 10 + ACTIVATIONS.index(activation))
    n, d, k = 11, 4, 3
    X = rng.normal(size=(n, d))
    y = rng.normal(size=(n, k)) if loss == "mse" else rng.integers(0, k, size=n)
    spec = NetSpec(d, k, hidden, activation)
    net = ScratchNet(spec, seed=3)
    value, grads = net.loss_and_grads(X, y, loss, train=False)
    ref_value, ref_grads = _torch_grads(spec, 3, X, y, loss)
    assert value == pytest.approx(ref_value, rel=1e-10)
    assert len(grads) == len(ref_grads) == 2 * (len(hidden) + 1)
    for g, r in zip(grads, ref_grads):
        assert g.shape == r.shape
        _assert_close(g, r)


def test_gradients_with_dropout_mask_match_autograd():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(9, 3)), rng.normal(size=(9, 2))
    spec = NetSpec(3, 2, (8,), "tanh", dropout=0.5)
    net = ScratchNet(spec, seed=1)
    out = net.forward(X, train=True)
    mask = net._cache[0][3]
    _, dout = mse_loss(out, y)
    grads = net.backward(dout)
    # the same mask, by hand, in torch
    tnet = build_network(spec, seed=1, dtype=torch.float64)
    lin0, lin1 = tnet.dense_layers
    h = torch.tanh(lin0(torch.from_numpy(X))) * torch.from_numpy(mask)
    torch.mean((lin1(h) - torch.from_numpy(y)) ** 2).backward()
    for g, r in zip(grads, [lin0.weight.grad, lin0.bias.grad, lin1.weight.grad, lin1.bias.grad]):
        _assert_close(g, r.numpy())
    assert set(np.unique(mask)) <= {0.0, 2.0}


def test_losses_by_hand():
    loss, grad = softmax_cross_entropy(np.array([[0.0, 0.0]]), np.array([1]))
    assert loss == pytest.approx(np.log(2))
    np.testing.assert_allclose(grad, [[0.5, -0.5]])
    loss, grad = mse_loss(np.array([[1.0], [3.0]]), np.array([0.0, 1.0]))
    assert loss == pytest.approx((1 + 4) / 2)
    np.testing.assert_allclose(grad, [[1.0], [2.0]])


def test_same_spec_same_seed_same_start_in_both_engines():
    spec = NetSpec(5, 2, (4,), "relu")
    scratch = ScratchNet(spec, seed=7)
    tnet = build_network(spec, seed=7, dtype=torch.float64)
    torch_params = [p.detach().numpy() for lin in tnet.dense_layers for p in (lin.weight, lin.bias)]
    for a, b in zip(scratch.params, torch_params):
        np.testing.assert_array_equal(a, b)


def _train_both_and_compare(net, sopt, tnet, topt, X, y, steps):
    """``steps`` cross-entropy steps of the NumPy and the torch network on (X, y); their weights must agree."""
    for _ in range(steps):
        loss, grads = net.loss_and_grads(X, y, "cross_entropy", train=False)
        sopt.step(grads, loss=loss)
        topt.step(torch.nn.functional.cross_entropy(tnet(torch.from_numpy(X)), torch.from_numpy(y)))
    torch_params = [p.detach().numpy() for lin in tnet.dense_layers for p in (lin.weight, lin.bias)]
    for a, b in zip(net.params, torch_params):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_scratch_optimizers_trace_torch(name):
    """Same start, same batches, same config: both engines walk the same weights."""
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(16, 3)), rng.integers(0, 3, size=16)
    spec = NetSpec(3, 3, (5,), "tanh")
    config = dict(
        name=name, lr=0.05, l1=1e-3, l2=1e-2, clip_norm=0.5, schedule="cosine", total_steps=8
    )
    net = ScratchNet(spec, seed=2)
    sopt = ScratchOptimizer(net.params, OptimConfig(**config))
    tnet = build_network(spec, seed=2, dtype=torch.float64)
    topt = Optimizer(tnet.parameters(), OptimConfig(**config))
    _train_both_and_compare(net, sopt, tnet, topt, X, y, steps=8)
    assert sopt.lr == pytest.approx(topt.lr)


def test_scratch_refuses_conv_and_unknown_loss():
    from sandbox.nn import ConvSpec

    with pytest.raises(ValueError, match="dense networks only"):
        ScratchNet(NetSpec(64, 10, conv=ConvSpec((8, 8))))
    net = ScratchNet(NetSpec(2, 1))
    with pytest.raises(ValueError, match="loss='hinge'"):
        net.loss_and_grads(np.zeros((2, 2)), np.zeros(2), "hinge")


def test_per_parameter_learning_rates_trace_torch_parameter_groups():
    """``lrs`` plays the part of torch's parameter groups, with the schedule applied to each."""
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(16, 3)), rng.integers(0, 3, size=16)
    spec = NetSpec(3, 3, (5,), "relu")
    config = dict(name="adam", lr=0.05, clip_norm=0.5, schedule="linear", total_steps=6)
    net = ScratchNet(spec, seed=4)
    lrs = [0.05, 0.05, 0.2, 0.2]  # first layer at 0.05, second at 0.2
    sopt = ScratchOptimizer(net.params, OptimConfig(**config), lrs=lrs)
    tnet = build_network(spec, seed=4, dtype=torch.float64)
    first, second = tnet.dense_layers
    topt = Optimizer(
        [
            {"params": list(first.parameters()), "lr": 0.05},
            {"params": list(second.parameters()), "lr": 0.2},
        ],
        OptimConfig(**config),
    )
    _train_both_and_compare(net, sopt, tnet, topt, X, y, steps=6)
    with pytest.raises(ValueError, match="one learning rate per parameter"):
        ScratchOptimizer(net.params, OptimConfig(**config), lrs=[0.1])


def test_finite_check_survives_a_sum_that_overflows_and_still_finds_nan():
    from sandbox.checks import as_float_array

    huge = np.full((4, 3), 1e308)  # every value finite, their sum is inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and without an overflow warning to the user
        assert as_float_array("X", huge) is not None
    bad = np.ones((1000, 3))
    bad[777, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN \(first at index \(777, 1\)\)"):
        as_float_array("X", bad)


def test_importing_the_numpy_engine_does_not_import_torch():
    # NetSpec, initialisation, OptimConfig and schedules live in torch-free modules; the engine needs only them.
    import subprocess
    import sys

    code = "import sys, sandbox.scratch, sandbox.netspec, sandbox.optim_config; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_lr_factor_stays_between_steps_of_a_constant_schedule():
    # The deep agents drive their schedule through set_lr_factor; a constant config must not reset it.
    p = [np.ones(3)]
    opt = ScratchOptimizer(p, OptimConfig("sgd", lr=0.1))
    opt.set_lr_factor(0.5)
    opt.step([np.ones(3)])
    opt.step([np.ones(3)])
    np.testing.assert_allclose(p[0], 1 - 2 * 0.05)
    assert opt.lr == pytest.approx(0.05)
