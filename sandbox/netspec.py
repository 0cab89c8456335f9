"""What a network is, as plain data: :class:`NetSpec`, :class:`ConvSpec` and the starting weights.

Nothing here imports torch: :mod:`sandbox.nn` builds torch networks from these
specs and :mod:`sandbox.scratch` builds NumPy ones, and both draw their dense
weights from :func:`dense_init`, so the same seed gives the same starting
weights in either engine.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from sandbox.checks import check_choice, check_int_tuple, check_number

ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu", "identity")


@dataclass(frozen=True)
class ConvSpec:
    """A small convolutional front end for image inputs.

    Parameters
    ----------
    image_shape : (height, width) or (channels, height, width)
    channels : output channels of each 'same'-padded conv layer
    kernel_size : odd kernel size of every conv layer
    pool : 2x2 max-pool after the last conv layer
    """

    image_shape: tuple[int, ...]
    channels: tuple[int, ...] = (16, 32)
    kernel_size: int = 3
    pool: bool = True

    def validate(self) -> ConvSpec:
        shape = check_int_tuple("conv.image_shape", self.image_shape)
        if len(shape) not in (2, 3):
            raise ValueError(
                f"conv.image_shape={self.image_shape!r} must be (height, width) or (channels, height, width)."
            )
        channels = check_int_tuple("conv.channels", self.channels)
        if not channels:
            raise ValueError("conv.channels=() must name at least one conv layer, e.g. (16, 32).")
        check_number("conv.kernel_size", self.kernel_size, low=1, integer=True)
        if self.kernel_size % 2 == 0:
            raise ValueError(
                f"conv.kernel_size={self.kernel_size} must be odd so 'same' padding keeps the image size."
            )
        if self.pool and min(shape[-2:]) < 2:
            raise ValueError(f"conv.pool=True needs images at least 2x2, got {shape[-2:]}.")
        return ConvSpec(shape, channels, int(self.kernel_size), bool(self.pool))

    @property
    def in_channels(self) -> int:
        return self.image_shape[0] if len(self.image_shape) == 3 else 1

    @property
    def out_features(self) -> int:
        h, w = self.image_shape[-2:]
        if self.pool:
            h, w = h // 2, w // 2
        return self.channels[-1] * h * w


@dataclass(frozen=True)
class NetSpec:
    """What a network is, as plain data.

    Parameters
    ----------
    in_features : number of input features (for a conv front end: pixels, h*w*c)
    out_features : number of outputs (1 for a scalar regressor, n_classes for logits)
    hidden : sizes of the hidden dense layers; ``()`` is a linear model
    activation : one of ``ACTIVATIONS``, used after every hidden layer
    dropout : probability of zeroing a hidden unit during training, in [0, 1)
    conv : optional :class:`ConvSpec` applied before the dense layers
    """

    in_features: int
    out_features: int
    hidden: tuple[int, ...] = ()
    activation: str = "relu"
    dropout: float = 0.0
    conv: ConvSpec | None = field(default=None)

    def validate(self) -> NetSpec:
        check_number("in_features", self.in_features, low=1, integer=True)
        check_number("out_features", self.out_features, low=1, integer=True)
        hidden = check_int_tuple("hidden", self.hidden)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_number("dropout", self.dropout, low=0.0, high=1.0, high_open=True)
        conv = self.conv
        if isinstance(conv, dict):
            conv = ConvSpec(**conv)
        if conv is not None:
            conv = conv.validate()
            if math.prod(conv.image_shape) != self.in_features:
                raise ValueError(
                    f"in_features={self.in_features} does not match conv.image_shape={conv.image_shape} "
                    f"({math.prod(conv.image_shape)} pixels)."
                )
        return NetSpec(
            int(self.in_features),
            int(self.out_features),
            hidden,
            self.activation,
            float(self.dropout),
            conv,
        )

    @property
    def dense_sizes(self) -> list[int]:
        """Widths of the dense stack, input first: [in, h1, ..., out]."""
        first = self.conv.out_features if self.conv is not None else self.in_features
        return [first, *self.hidden, self.out_features]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NetSpec:
        d = dict(d)
        if d.get("conv") is not None:
            c = dict(d["conv"])
            c["image_shape"] = tuple(c["image_shape"])
            c["channels"] = tuple(c["channels"])
            d["conv"] = ConvSpec(**c)
        d["hidden"] = tuple(d.get("hidden", ()))
        return cls(**d).validate()


def as_spec(spec: NetSpec | dict[str, Any]) -> NetSpec:
    if isinstance(spec, NetSpec):
        return spec.validate()
    if isinstance(spec, dict):
        return NetSpec.from_dict(spec)
    raise ValueError(f"spec={spec!r} must be a NetSpec or a dict of its fields.")


def dense_init(sizes: list[int], rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Starting weights for a dense stack, in float64, torch's layout: W (out, in), b (out,).

    Uniform in +-1/sqrt(fan_in), as torch's own ``nn.Linear`` default, but drawn
    from a NumPy generator so both engines start from the same numbers.
    """
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / math.sqrt(fan_in)
        W = rng.uniform(-bound, bound, size=(fan_out, fan_in))
        b = rng.uniform(-bound, bound, size=(fan_out,))
        layers.append((W, b))
    return layers
