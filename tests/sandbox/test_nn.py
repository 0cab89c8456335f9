import numpy as np
import pytest
import torch

from sandbox.nn import ConvSpec, NetSpec, build_network


def _weights(net):
    return [p.detach().clone() for p in net.parameters()]


def test_same_seed_same_weights_other_seed_other_weights():
    spec = NetSpec(4, 3, (8, 8), "gelu")
    a, b, c = build_network(spec, seed=1), build_network(spec, seed=1), build_network(spec, seed=2)
    assert all(torch.equal(x, y) for x, y in zip(_weights(a), _weights(b)))
    assert not torch.equal(_weights(a)[0], _weights(c)[0])


def test_shapes_and_layers_follow_the_spec():
    net = build_network(
        {
            "in_features": 5,
            "out_features": 2,
            "hidden": [16, 4],
            "activation": "tanh",
            "dropout": 0.2,
        }
    )
    assert [lin.weight.shape for lin in net.dense_layers] == [(16, 5), (4, 16), (2, 4)]
    assert sum(isinstance(m, torch.nn.Dropout) for m in net.body) == 2
    assert net(torch.zeros(7, 5)).shape == (7, 2)


def test_dropout_only_while_training():
    net = build_network(NetSpec(3, 1, (64,), dropout=0.5), seed=0)
    x = torch.ones(4, 3)
    net.eval()
    assert torch.equal(net(x), net(x))
    net.train()
    torch.manual_seed(0)
    assert not torch.equal(net(x), net(x))


@pytest.mark.parametrize("shape", [(10, 8, 8), (10, 64), (10, 1, 8, 8)])
def test_conv_front_takes_images_or_flat_rows(shape):
    spec = NetSpec(64, 10, (32,), conv=ConvSpec((8, 8), channels=(4, 8)))
    net = build_network(spec, seed=0)
    assert net(torch.zeros(shape)).shape == (10, 10)
    assert spec.validate().dense_sizes == [8 * 4 * 4, 32, 10]


def test_conv_is_seeded():
    spec = NetSpec(64, 10, conv=ConvSpec((8, 8)))
    a, b = build_network(spec, seed=3), build_network(spec, seed=3)
    assert all(torch.equal(x, y) for x, y in zip(_weights(a), _weights(b)))


@pytest.mark.parametrize(
    "spec, match",
    [
        (NetSpec(4, 1, activation="swish"), "activation='swish'"),
        (NetSpec(4, 1, activation="rellu"), "Did you mean 'relu'"),
        (NetSpec(0, 1), "in_features=0"),
        (NetSpec(4, 1, hidden=(8, 0)), "hidden="),
        (
            NetSpec(4, 1, dropout=1.0),
            r"dropout=1.0 is out of range; it must be a number in \[0.0, 1.0\)",
        ),
        (NetSpec(4, 1, dropout=-0.1), "dropout"),
        (NetSpec(63, 1, conv=ConvSpec((8, 8))), "does not match conv.image_shape"),
        (NetSpec(64, 1, conv=ConvSpec((8, 8), kernel_size=2)), "must be odd"),
        (NetSpec(64, 1, conv=ConvSpec((64,))), "image_shape"),
    ],
)
def test_bad_specs_are_named(spec, match):
    with pytest.raises(ValueError, match=match):
        build_network(spec)


def test_spec_round_trips_through_a_dict():
    spec = NetSpec(64, 10, (32,), "relu", 0.1, ConvSpec((8, 8), (4,)))
    assert NetSpec.from_dict(spec.to_dict()) == spec.validate()
    np.testing.assert_equal(spec.to_dict()["conv"]["image_shape"], (8, 8))
