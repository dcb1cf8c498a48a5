"""Tables: dict-like keyed state of an App, partitioned like the topics that write them.

    counts = app.Table("counts", default=int)

    @app.agent(clicks)
    async def count(stream):
        async for click in stream:
            counts[click["page"]] += 1

A key belongs to the partition of the message being processed when it is first written
(so with ``concurrency=N`` each instance owns the keys of its partitions), or to the
murmur2 partition of its JSON form outside agents.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional

import orjson

from . import _sabot
from .agents import current_event

if TYPE_CHECKING:
    from .app import App


class Table(MutableMapping):
    def __init__(self, app: "App", name: str, default: Optional[Callable[[], Any]] = None,
                 partitions: Optional[int] = None):
        if default is not None and not callable(default):
            raise TypeError(f"table '{name}': default must be callable (e.g. int, list), "
                            f"got {default!r}")
        self.app = app
        self.name = name
        self.default = default
        self._given_partitions = partitions
        self.partitions = partitions or app.default_partitions
        self._data: dict = {}
        self._partition_of: dict = {}

    def __repr__(self) -> str:
        return f"<Table {self.name} keys={len(self._data)} partitions={self.partitions}>"

    def _place(self, key: Any) -> None:
        if key in self._partition_of:
            return
        event = current_event.get()
        if event is not None:
            # Partitioned like the topic that writes it, unless partitions were given.
            partition = event[1] if self._given_partitions is None \
                else event[1] % self._given_partitions
        else:
            partition = _sabot.key_partition(
                orjson.dumps(key, option=orjson.OPT_NON_STR_KEYS), self.partitions)
        self._partition_of[key] = partition

    def __getitem__(self, key: Any) -> Any:
        try:
            return self._data[key]
        except KeyError:
            if self.default is None:
                raise
            value = self.default()
            self[key] = value
            return value

    def __setitem__(self, key: Any, value: Any) -> None:
        self._place(key)
        self._data[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._data[key]
        self._partition_of.pop(key, None)

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._data))

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def get(self, key: Any, default: Any = None) -> Any:
        """The value of `key`, or `default` (the table's default factory is not used)."""
        return self._data.get(key, default)

    def partition_of(self, key: Any) -> Optional[int]:
        return self._partition_of.get(key)

    def as_dict(self) -> dict:
        return dict(self._data)
