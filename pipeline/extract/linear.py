"""A linear model over string features, stored as plain JSON (no pickle, nothing runs on load).

Trained with scikit-learn's ``LogisticRegression`` (see :mod:`pipeline.extract.train_quotes`);
applying it is a sum of weights, which is faster on a handful of features than any
vectoriser and cannot execute code from the model file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import repeat
from typing import Iterable, Mapping


@dataclass(frozen=True)
class LinearModel:
    weights: Mapping[str, float]
    bias: float = 0.0
    threshold: float = 0.5

    def score(self, features: Iterable[str]) -> float:
        """Probability (logistic) for a set of binary features; unknown features weigh 0."""
        z = sum(map(self.weights.get, set(features), repeat(0.0)), self.bias)
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        ez = math.exp(z)
        return ez / (1.0 + ez)

    def to_dict(self) -> dict:
        return {"bias": self.bias, "threshold": self.threshold,
                "weights": {k: self.weights[k] for k in sorted(self.weights)}}

    @classmethod
    def from_dict(cls, data: Mapping) -> "LinearModel":
        weights = data["weights"]
        if not isinstance(weights, dict) or not all(
                isinstance(k, str) and isinstance(v, (int, float)) for k, v in weights.items()):
            raise ValueError("weights must map feature names to numbers")
        return cls(weights={k: float(v) for k, v in weights.items()}, bias=float(data["bias"]),
                   threshold=float(data.get("threshold", 0.5)))
