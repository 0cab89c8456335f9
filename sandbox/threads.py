"""Thread settings for a run: how many CPU threads torch may use.

One place for it, so the runner (``sandbox run``) can own the setting for every
experiment instead of each experiment setting it by hand.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch CPU threads, then put the previous number back.

    Small networks train as fast on one thread, and leave the other cores free.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)
