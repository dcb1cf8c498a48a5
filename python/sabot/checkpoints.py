"""Checkpoints of an App: every agent's positions and every table's contents, taken at
a moment when no agent is between two messages, so that they agree. After a crash the
worker restores the newest checkpoint: tables hold exactly the effects of the messages
before the positions, and the agents go on from there (each message's table updates
count once). Values yielded to sink topics after the checkpoint are sent again
(at-least-once).

Files in <checkpoint_dir>, per checkpoint n:
- checkpoint-<n>.state: the snapshot of the App's state backend, which holds the tables
  (their caches are written to it first; sabot.tables). It restores only into the same
  kind of backend (memory:// or rocksdb://), so the App's state setting must not change
  between runs that share a checkpoint directory.
- checkpoint-<n>.json: the positions, the tables' names and the backend's kind.
Each is written to a temporary file, synced and renamed, the state file first, so a
crash never leaves a partial checkpoint and a JSON file implies its state file. The
newest three are kept. Format 2; format 1 (tables as JSON, before tables lived in the
state backend) is refused with a message rather than converted.
"""

from __future__ import annotations

import asyncio
import os
import re
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

import orjson

if TYPE_CHECKING:
    from .agents import AgentStream
    from .tables import Table, TableBackend

_NAME = re.compile(r"^checkpoint-(\d+)\.json$")
FORMAT_VERSION = 2


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

    def _path(self, checkpoint_id: int, suffix: str) -> str:
        return os.path.join(self.directory, f"checkpoint-{checkpoint_id}.{suffix}")

    def latest(self) -> Optional[dict]:
        """The newest checkpoint, or None."""
        ids = self._ids()
        if not ids:
            return None
        path = self._path(ids[-1], "json")
        with open(path, "rb") as source:
            try:
                state = orjson.loads(source.read())
            except orjson.JSONDecodeError as error:
                raise ValueError(f"checkpoint {path} is not valid JSON: {error}") from None
        if state.get("format") == 1:
            raise ValueError(f"checkpoint {path} has format 1 (tables as JSON), from a "
                             f"version before tables lived in the state backend; this "
                             f"version reads format {FORMAT_VERSION}: finish the run with "
                             f"the previous version, or delete the checkpoint directory to "
                             f"start afresh")
        if state.get("format") != FORMAT_VERSION:
            raise ValueError(f"checkpoint {path} has format {state.get('format')!r}; this "
                             f"version reads format {FORMAT_VERSION}")
        return state

    def read_tables(self, checkpoint_id: int) -> bytes:
        """The state backend's snapshot saved with checkpoint `checkpoint_id`."""
        with open(self._path(checkpoint_id, "state"), "rb") as source:
            return source.read()

    def write(self, state: dict, tables: bytes) -> int:
        """Writes `state` and the tables' snapshot as the next checkpoint; returns its id."""
        ids = self._ids()
        checkpoint_id = (ids[-1] + 1) if ids else 1
        state = dict(state, format=FORMAT_VERSION, id=checkpoint_id)
        self._write_file(self._path(checkpoint_id, "state"), tables)
        self._write_file(self._path(checkpoint_id, "json"), orjson.dumps(state))
        for old in ids[:max(0, len(ids) + 1 - self.retain)]:
            # The state file first: a crash between the two leaves a JSON file, which the
            # next write lists and removes, never a state file no JSON file names.
            if os.path.exists(self._path(old, "state")):
                os.remove(self._path(old, "state"))
            os.remove(self._path(old, "json"))
        return checkpoint_id

    def _write_file(self, path: str, data: bytes) -> None:
        """Writes `path` whole or not at all, and durably before the next file."""
        temporary = path + ".tmp"
        with open(temporary, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.rename(temporary, path)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def snapshot_tables(backend: "TableBackend",
                    tables: Dict[str, "Table"]) -> Tuple[dict, bytes]:
    """The checkpoint's fields about the tables, and the backend's snapshot to save
    beside it."""
    snapshot = backend.snapshot(tables)
    return {"tables": backend.names(), "state_backend": backend.kind}, snapshot


def restore_tables(backend: "TableBackend", tables: Dict[str, "Table"], state: dict,
                   snapshot: bytes, where: str) -> None:
    """Puts the tables of checkpoint `state` (whose backend snapshot is `snapshot`) back."""
    if state["state_backend"] != backend.kind:
        raise ValueError(f"checkpoint {state['id']} in {where} holds tables of a "
                         f"{state['state_backend']} state backend, and this app's state is "
                         f"{backend.kind}: a snapshot restores only into its own kind; use "
                         f"the state setting the checkpoints were taken with, or delete the "
                         f"checkpoint directory to start afresh")
    backend.restore(tables, state["tables"], snapshot)
