"""Weighted draws that give what ``random.choices(labels, weights)[0]`` gives, only cheaper.

``choices`` adds the weights up again on every call; the demo draws from the same few
tables millions of times. The running sums are kept, and the draw is ``choices``'s own
(one ``random()`` times the total, bisected), so the same stream gives the same labels.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from itertools import accumulate
from typing import Generic, TypeVar

Label = TypeVar("Label")


class Weights(Generic[Label]):
    """Labels with their weights, drawn as ``rng.choices(labels, weights)[0]`` would."""

    __slots__ = ("labels", "cumulative", "total", "last")

    def __init__(self, weights: Mapping[Label, float] | Iterable[tuple[Label, float]]) -> None:
        pairs = list(weights.items() if isinstance(weights, Mapping) else weights)
        self.labels = [label for label, _weight in pairs]
        self.cumulative = list(accumulate(weight for _label, weight in pairs))
        self.total = self.cumulative[-1] + 0.0
        self.last = len(self.labels) - 1

    def draw(self, rng: random.Random) -> Label:
        """Draw one label."""
        return self.labels[bisect_right(self.cumulative, rng.random() * self.total, 0, self.last)]
