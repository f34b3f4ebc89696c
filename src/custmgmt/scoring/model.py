"""A scorer around any callable or any scikit-learn style model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from custmgmt.errors import ValidationError
from custmgmt.scoring.weighted import FeatureTable, feature_column

__all__ = ["ModelScorer"]


class ModelScorer:
    """Score customers with a callable or a fitted model.

    * With ``features`` (a list of feature names), the scorer builds the matrix ``X``
      (one row per customer, one column per feature) and calls
      ``model.predict_proba(X)[:, positive_column]`` if the model has
      ``predict_proba``, else ``model.predict(X)``, else ``model(X)``.
    * Without ``features``, ``model`` must be a callable taking the feature table.

    >>> double = ModelScorer(lambda X: X[:, 0] * 2, features=["spend"])
    >>> double.score({"spend": [1.0, 2.5]}).tolist()
    [2.0, 5.0]

    Args:
        model: a callable, or an object with ``predict_proba`` or ``predict``.
        features: the feature names that make up ``X``, in column order.
        positive_column: which ``predict_proba`` column is the score (1: the
            positive class of a binary classifier).
    """

    def __init__(
        self,
        model: Any,
        *,
        features: Sequence[str] | None = None,
        positive_column: int = 1,
    ) -> None:
        self.model = model
        self.features = features
        self.positive_column = positive_column
        usable = callable(model) or hasattr(model, "predict") or hasattr(model, "predict_proba")
        if not usable:
            raise ValidationError("model", model, "a callable or an object with predict")
        if features is None and not callable(model):
            raise ValidationError("features", None, "feature names for a predict model")
        if features is not None and (
            isinstance(features, str) or not all(isinstance(f, str) for f in features)
        ):
            raise ValidationError("features", features, "a sequence of feature names")

    def score(self, features: FeatureTable) -> NDArray[np.float64]:
        """One score per customer from the wrapped model.

        Raises:
            ValidationError: a feature is missing, or the model's output is not one
                finite number per customer.
        """
        if self.features is None:
            raw = self.model(features)
            n = None
        else:
            columns = [feature_column(features, name) for name in self.features]
            n = len(columns[0]) if columns else 0
            X = np.column_stack(columns) if columns else np.empty((0, 0))
            if hasattr(self.model, "predict_proba"):
                proba = np.asarray(self.model.predict_proba(X), dtype=np.float64)
                if proba.ndim != 2 or proba.shape[1] <= self.positive_column:
                    raise ValidationError(
                        "predict_proba", proba.shape, f"(n, >{self.positive_column}) columns"
                    )
                raw = proba[:, self.positive_column]
            elif hasattr(self.model, "predict"):
                raw = self.model.predict(X)
            else:
                raw = self.model(X)
        try:
            out = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValidationError("model output", raw, "numbers") from None
        if out.ndim != 1 or (n is not None and out.size != n):
            raise ValidationError("model output", out.shape, "one score per customer")
        if not np.isfinite(out).all():
            raise ValidationError("model output", out, "finite scores")
        return out
