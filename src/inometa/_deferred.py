"""Values computed on first use.

Results keep per-study quantities that only tables and plots need — default study labels,
per-study confidence intervals — as :class:`Deferred` values. For 10⁶ studies the exact
(Clopper–Pearson) intervals take seconds and a million label strings a noticeable
fraction of one, while the analysis itself needs neither; the first access computes them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["Deferred"]

T = TypeVar("T")

_PENDING: Any = object()


class Deferred(Generic[T]):
    """A value computed by ``compute()`` on first :meth:`get`, then kept.

    ``compute`` must depend only on values that cannot change (copies made for the
    purpose, or read-only arrays). Pickling and copying store the computed value.

    Examples
    --------
    >>> d = Deferred(lambda: sum(range(10)))
    >>> d.ready
    False
    >>> d.get(), d.ready
    (45, True)
    """

    __slots__ = ("_compute", "_value")

    def __init__(self, compute: Callable[[], T]) -> None:
        self._compute: Callable[[], T] | None = compute
        self._value: T = _PENDING

    @classmethod
    def of(cls, value: T) -> Deferred[T]:
        """A value that is already known."""
        out: Deferred[T] = cls.__new__(cls)
        out._compute = None
        out._value = value
        return out

    @property
    def ready(self) -> bool:
        """Whether the value has been computed."""
        return self._value is not _PENDING

    def get(self) -> T:
        """The value (computed now if it has not been yet)."""
        if self._value is _PENDING:
            assert self._compute is not None
            self._value = self._compute()
            self._compute = None  # drop what the computation held on to
        return self._value

    def __reduce__(self) -> tuple[Any, tuple[T]]:
        return (Deferred.of, (self.get(),))

    def __repr__(self) -> str:
        return f"Deferred({self._value!r})" if self.ready else "Deferred(<not computed>)"
