"""Checkpoints of an App: every agent's positions and every table's contents, taken at
a moment when no agent is between two messages, so that they agree. After a crash the
worker restores the newest checkpoint: tables hold exactly the effects of the messages
before the positions, and the agents go on from there (each message's table updates
count once). Values yielded to sink topics after the checkpoint are sent again
(at-least-once).

Files: <checkpoint_dir>/checkpoint-<n>.json, written to a temporary file, synced and
renamed, so a crash never leaves a partial checkpoint; the newest three are kept.
Table keys and values must be JSON values (str, int, float, bool, None, lists and dicts
with str keys); tuple keys come back as tuples.
"""

from __future__ import annotations

import asyncio
import os
import re
from typing import TYPE_CHECKING, Any, List, Optional

import orjson

if TYPE_CHECKING:
    from .agents import AgentStream

_NAME = re.compile(r"^checkpoint-(\d+)\.json$")
FORMAT_VERSION = 1


class CheckpointGate:
    """Holds agents before their next message while a checkpoint is taken."""

    def __init__(self) -> None:
        self.closed = False
        self.parked: set = set()
        self._open: Optional[asyncio.Event] = None

    def _event(self) -> asyncio.Event:
        if self._open is None:
            self._open = asyncio.Event()
            self._open.set()
        return self._open

    async def wait_open(self, stream: "AgentStream") -> None:
        self.parked.add(stream)
        try:
            await self._event().wait()
        finally:
            self.parked.discard(stream)

    def close(self) -> None:
        self.closed = True
        self._event().clear()

    def open(self) -> None:
        self.closed = False
        self._event().set()


def _encode_key(key: Any) -> Any:
    if isinstance(key, tuple):
        return {"__tuple__": [_encode_key(k) for k in key]}
    return key


def _decode_key(key: Any) -> Any:
    if isinstance(key, dict) and "__tuple__" in key:
        return tuple(_decode_key(k) for k in key["__tuple__"])
    return key


class CheckpointStore:
    def __init__(self, directory: str, retain: int = 3):
        if not directory:
            raise ValueError("checkpoint_dir must be a directory path")
        self.directory = os.path.abspath(directory)
        self.retain = retain
        os.makedirs(self.directory, exist_ok=True)

    def _ids(self) -> List[int]:
        ids = []
        for name in os.listdir(self.directory):
            match = _NAME.match(name)
            if match:
                ids.append(int(match.group(1)))
        return sorted(ids)

    def latest(self) -> Optional[dict]:
        """The newest checkpoint, or None."""
        ids = self._ids()
        if not ids:
            return None
        path = os.path.join(self.directory, f"checkpoint-{ids[-1]}.json")
        with open(path, "rb") as source:
            try:
                state = orjson.loads(source.read())
            except orjson.JSONDecodeError as error:
                raise ValueError(f"checkpoint {path} is not valid JSON: {error}") from None
        if state.get("format") != FORMAT_VERSION:
            raise ValueError(f"checkpoint {path} has format {state.get('format')!r}; this "
                             f"version reads format {FORMAT_VERSION}")
        return state

    def write(self, state: dict) -> int:
        """Writes `state` as the next checkpoint; returns its id."""
        ids = self._ids()
        checkpoint_id = (ids[-1] + 1) if ids else 1
        state = dict(state, format=FORMAT_VERSION, id=checkpoint_id)
        path = os.path.join(self.directory, f"checkpoint-{checkpoint_id}.json")
        temporary = path + ".tmp"
        with open(temporary, "wb") as out:
            out.write(orjson.dumps(state))
            out.flush()
            os.fsync(out.fileno())
        os.rename(temporary, path)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        for old in ids[:max(0, len(ids) + 1 - self.retain)]:
            os.remove(os.path.join(self.directory, f"checkpoint-{old}.json"))
        return checkpoint_id


def snapshot_tables(tables: dict) -> dict:
    result = {}
    for name, table in tables.items():
        entries = []
        for key, value in table._data.items():
            entries.append([_encode_key(key), value, table._partition_of.get(key)])
        try:
            orjson.dumps(entries)
        except TypeError as error:
            raise TypeError(f"table '{name}' holds a value that is not JSON ({error}); "
                            f"checkpointed tables keep JSON values") from None
        result[name] = entries
    return result


def restore_tables(tables: dict, saved: dict) -> None:
    for name, entries in saved.items():
        table = tables.get(name)
        if table is None:
            continue
        table._data.clear()
        table._partition_of.clear()
        for key, value, partition in entries:
            key = _decode_key(key)
            table._data[key] = value
            if partition is not None:
                table._partition_of[key] = partition
