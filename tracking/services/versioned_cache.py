"""Values read from the database, each kept with the data version it was read at.

A reader reads the version first, then asks for the value kept under that same version: a
value read at any other version is dropped, never given out. The version lives in the
database and changes in the transaction of every change it covers (migration 0008's
triggers), so however many processes and hosts write, a process serves only what the database
holds. Per process, bounded by the total weight of its values; the least recently used go
first.
"""

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class VersionedCache(Generic[K, V]):
    def __init__(self, max_weight: int) -> None:
        self.max_weight = max_weight
        self._entries: OrderedDict[K, tuple[int, V, int]] = OrderedDict()
        self._weight = 0

    def get(self, key: K, version: int | None) -> V | None:
        entry = self._entries.get(key)
        if entry is None or version is None:
            return None
        if entry[0] != version:
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: K, version: int | None, value: V, weight: int) -> None:
        """Keep `value`, read after `version` was read; too heavy a value is not kept."""
        if version is None or weight > self.max_weight:
            return
        if key in self._entries:
            self._drop(key)
        self._entries[key] = (version, value, weight)
        self._weight += weight
        while self._weight > self.max_weight:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: K) -> None:
        self._weight -= self._entries.pop(key)[2]

    def __len__(self) -> int:
        return len(self._entries)
