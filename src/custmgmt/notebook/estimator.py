"""scikit-learn's estimator convention without depending on scikit-learn.

:class:`Estimator` gives a class whose ``__init__`` stores its keyword parameters
untouched (under the same names) ``get_params`` and ``set_params``, read from the
constructor's signature as ``sklearn.base.BaseEstimator`` does, so
``sklearn.base.clone``, grid searches and pipelines work on the library's models.
:func:`check_fitted` raises :class:`~custmgmt.errors.NotFittedError` for a model used
before ``fit``.

>>> class Scaler(Estimator):
...     def __init__(self, factor=1.0):
...         self.factor = factor
>>> Scaler(2.0).get_params()
{'factor': 2.0}
>>> Scaler().set_params(factor=3.0).factor
3.0
"""

from __future__ import annotations

import inspect
from typing import Any, Self

from custmgmt.errors import NotFittedError, ValidationError

__all__ = ["Estimator", "check_fitted"]


class Estimator:
    """Mixin: ``get_params`` / ``set_params`` from the constructor's signature.

    Subclasses must store every constructor parameter as an attribute of the same
    name, unchanged (validation happens in ``fit``), and must not take ``*args``.
    """

    @classmethod
    def _get_param_names(cls) -> list[str]:
        init = cls.__init__
        if init is object.__init__:
            return []
        signature = inspect.signature(init)
        names = []
        for p in signature.parameters.values():
            if p.name == "self" or p.kind == p.VAR_KEYWORD:
                continue
            if p.kind == p.VAR_POSITIONAL:
                raise TypeError(f"{cls.__name__}.__init__ must not take *{p.name}")
            names.append(p.name)
        return names  # signature order: reads best in reprs

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's parameters as stored (scikit-learn's protocol).

        Args:
            deep: also list the parameters of parameters that are estimators
                themselves, as ``outer__inner``.
        """
        out: dict[str, Any] = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                for key, inner in value.get_params().items():
                    out[f"{name}__{key}"] = inner
            out[name] = value
        return out

    def set_params(self, **params: Any) -> Self:
        """Set constructor parameters (``outer__inner`` reaches a nested estimator).

        Returns:
            self.

        Raises:
            ValidationError: a name that is not a parameter of this estimator.
        """
        valid = self.get_params(deep=True)
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ValidationError(
                    f"{type(self).__name__}.set_params",
                    name,
                    f"one of {', '.join(self._get_param_names()) or 'no parameters'}",
                )
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
                valid[name] = value
        for name, sub_params in nested.items():
            valid[name].set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items())
        return f"{type(self).__name__}({args})"


def check_fitted(estimator: object, *attributes: str) -> None:
    """Raise :class:`~custmgmt.errors.NotFittedError` unless ``estimator`` has every
    learnt attribute named (by default: any attribute ending in ``_``).

    Raises:
        NotFittedError: the estimator has not been fitted.
    """
    if attributes:
        fitted = all(name in vars(estimator) for name in attributes)
    else:
        fitted = any(n.endswith("_") and not n.startswith("_") for n in vars(estimator))
    if not fitted:
        name = type(estimator).__name__
        raise NotFittedError(f"{name} is not fitted yet: call fit() first")
