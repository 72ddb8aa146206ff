"""A name -> entry registry, filled where each entry is defined (``@REGISTRY.register``).

Used for search spaces here and for tasks, search methods and losses in ``trials``: shared code looks
things up by the name a config carries and never compares names itself.
"""

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, instantiate: bool = False):
        self.kind = kind  # what an entry is, for error messages: "task", "search space", ...
        self.instantiate = instantiate  # stateless entries (spaces, tasks): keep one instance of the class
        self._entries: dict[str, T] = {}
        self.default: str | None = None  # the entry a command uses when none is named

    def register(self, entry: T) -> T:
        """Adds ``entry`` under ``entry.name`` (usable as a class decorator); a name is taken once."""
        name = entry.name
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = entry() if self.instantiate else entry
        return entry

    def get(self, name: str) -> T:
        if name not in self._entries:
            raise ValueError(f"unknown {self.kind} {name!r}; valid: {', '.join(self.names())}")
        return self._entries[name]

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def items(self) -> Iterator[tuple[str, T]]:
        return iter(self._entries.items())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def filter(self, keep: Callable[[T], bool]) -> tuple[str, ...]:
        return tuple(name for name, entry in self._entries.items() if keep(entry))
