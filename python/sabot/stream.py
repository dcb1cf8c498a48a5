"""sb.Stream: the dataflow API. A Stream describes a pipeline; the C++ engine runs it.

Streams are immutable and lazy: each method returns a new Stream, and a terminal call
(collect, to_pylist, to_file, run) builds the pipeline in a fresh engine environment and
runs it to the end of its input. Everything written with expressions (filter, select,
windows, aggregates) runs in C++ on whole Arrow batches; Python callables (map,
flat_map) receive and return pyarrow RecordBatches, one call per batch.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterable, Optional, Sequence, Union

import pyarrow as pa

from . import _sabot
from ._time import Duration, to_millis
from .windows import WindowSpec, aggregate_specs

Expr = _sabot.Expr
col = _sabot.col
lit = _sabot.lit

_FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".csv": "csv",
            ".parquet": "parquet", ".arrow": "arrow", ".ipc": "arrow", ".feather": "arrow"}


class _Node:
    """One step of a pipeline description: `build(env, inputs)` adds it to an engine
    environment given the engine handles of its inputs."""

    __slots__ = ("build", "inputs", "parallelism")

    def __init__(self, build: Callable, inputs: Sequence["_Node"] = ()):
        self.build = build
        self.inputs = tuple(inputs)
        self.parallelism: Optional[int] = None


def _as_expr(value: Union[Expr, str]) -> Expr:
    return col(value) if isinstance(value, str) else value


def _format_of(path: str, format: Optional[str]) -> str:
    if format is not None:
        return format
    extension = os.path.splitext(path.rstrip("/*"))[1].lower()
    if extension not in _FORMATS:
        raise ValueError(f"cannot tell the format of '{path}' from its extension; pass "
                         f"format= ('jsonl', 'csv', 'parquet' or 'arrow')")
    return _FORMATS[extension]


def _output_schema(function: Callable, input_schema: pa.Schema,
                   schema: Optional[pa.Schema]) -> Optional[pa.Schema]:
    """The schema a batch function produces: `schema` when given, else what `function`
    returns for an empty batch of the input schema, else None (the input schema)."""
    if schema is not None:
        return schema
    try:
        produced = function(pa.RecordBatch.from_pylist([], schema=input_schema))
    except Exception:  # noqa: BLE001 - the function may need rows; the engine checks later
        return None
    if produced is None:
        return None
    if isinstance(produced, (pa.RecordBatch, pa.Table)):
        return produced.schema
    if isinstance(produced, (list, tuple)) and produced:
        return produced[0].schema
    return None


class Stream:
    """A pipeline of Arrow record batches run by the C++ engine."""

    def __init__(self, node: _Node, parallelism: int = 1):
        self._node = node
        self._default_parallelism = parallelism

    # ---- sources -----------------------------------------------------------------

    @classmethod
    def from_batches(cls, batches: Any, schema: Optional[pa.Schema] = None,
                     repeat: int = 1) -> "Stream":
        """Reads Arrow data: a list of pyarrow RecordBatches, or any object implementing
        the Arrow PyCapsule stream protocol (a pyarrow Table or RecordBatchReader, a
        polars DataFrame, a DuckDB relation)."""
        if isinstance(batches, (list, tuple)):
            if not batches and schema is None:
                raise ValueError("from_batches([]) needs schema=")
            data = pa.Table.from_batches(list(batches), schema=schema)
        else:
            data = batches
        return cls(_Node(lambda env, _: env.from_arrow(data, repeat)))

    @classmethod
    def from_table(cls, table: Any, repeat: int = 1) -> "Stream":
        """Reads a pyarrow Table (or any Arrow stream: polars, DuckDB)."""
        return cls.from_batches(table, repeat=repeat)

    @classmethod
    def from_pylist(cls, rows: Iterable[dict], schema: Optional[pa.Schema] = None) -> "Stream":
        """Reads a list of dicts. Without `schema`, the columns are the keys of all rows
        (missing ones are null) and pyarrow infers each column's type."""
        rows = list(rows)
        if not rows and schema is None:
            raise ValueError("from_pylist([]) needs schema=")
        if schema is not None:
            return cls.from_batches(pa.Table.from_pylist(rows, schema=schema))
        # Columns are the keys of all rows (pyarrow's from_pylist takes the first row's
        # only and would drop the others); a row without a key has null there.
        columns = dict.fromkeys(key for row in rows for key in row)
        return cls.from_batches(pa.Table.from_pydict(
            {name: [row.get(name) for row in rows] for name in columns}))

    from_dicts = from_pylist

    @classmethod
    def from_file(cls, path: str, format: Optional[str] = None,
                  schema: Optional[pa.Schema] = None, on_bad_record: str = "fail",
                  rejects_path: Optional[str] = None, batch_size: int = 64 * 1024) -> "Stream":
        """Reads JSON lines, CSV, Parquet or Arrow IPC files: a path or a glob. The format
        comes from the extension unless given; the schema is inferred from the first
        file unless given. on_bad_record 'fail' stops at a bad record naming file, line
        and field; 'skip' counts it and writes it to `rejects_path`."""
        file_format = _format_of(path, format)
        return cls(_Node(lambda env, _: env.from_files(
            path, file_format, schema, on_bad_record, rejects_path or "", batch_size)))

    @classmethod
    def from_kafka(cls, bootstrap: str, topics: Union[str, Sequence[str]],
                   schema: Optional[pa.Schema] = None, value_serializer: str = "json",
                   start: str = "earliest", bounded: bool = False,
                   watermark_column: Optional[str] = None, max_delay: Duration = 0,
                   idle_timeout: Optional[Duration] = None, group_id: str = "",
                   on_bad_record: str = "fail", dead_letter_topic: str = "",
                   dead_letter_path: str = "", metadata: Sequence[str] = (),
                   schema_registry_url: str = "", properties: Optional[dict] = None,
                   start_timestamp_ms: int = 0) -> "Stream":
        """Reads Kafka topics with the engine's source (docs: connectors/kafka/README.md):
        values decoded by the C++ codec `value_serializer` ('json', 'avro', 'msgpack',
        'arrow', 'raw') into `schema`; `start` 'earliest', 'latest', 'timestamp' or
        'group'; `bounded` stops at the end offsets seen at start; `metadata` adds
        columns _key, _topic, _partition, _offset, _timestamp, _headers; bad records
        'fail', 'skip' or 'dead_letter' (to `dead_letter_topic` or `dead_letter_path`).
        With `watermark_column` the stream has per-partition watermarks."""
        topic_list = [topics] if isinstance(topics, str) else list(topics)
        delay = to_millis(max_delay, "max_delay")
        idle = 0 if idle_timeout is None else to_millis(idle_timeout, "idle_timeout")
        return cls(_Node(lambda env, _: env.from_kafka(
            bootstrap, topic_list, schema, value_serializer, schema_registry_url, start,
            start_timestamp_ms, group_id, bounded, watermark_column or "", delay, idle,
            on_bad_record, dead_letter_topic, dead_letter_path, list(metadata),
            {str(k): str(v) for k, v in (properties or {}).items()})))

    # ---- transformations -----------------------------------------------------------

    def _then(self, build: Callable, *others: "Stream") -> "Stream":
        inputs = [self._node] + [other._node for other in others]
        return Stream(_Node(build, inputs), self._default_parallelism)

    def filter(self, predicate: Expr) -> "Stream":
        """Keeps rows where `predicate` is true (null counts as false)."""
        if not isinstance(predicate, Expr):
            raise TypeError("filter() takes an expression such as sb.col('amount') > 1000")
        return self._then(lambda env, inputs: inputs[0].filter(predicate))

    def select(self, *columns: Union[Expr, str]) -> "Stream":
        """Computes one column per argument: names or expressions (.alias() names them)."""
        if len(columns) == 1 and isinstance(columns[0], (list, tuple)):
            columns = tuple(columns[0])
        expressions = [_as_expr(c) for c in columns]
        return self._then(lambda env, inputs: inputs[0].select(expressions))

    def map(self, function: Callable[[pa.RecordBatch], Any],
            schema: Optional[pa.Schema] = None, name: Optional[str] = None) -> "Stream":
        """Applies `function` to every batch: it receives a pyarrow RecordBatch and
        returns one (or a Table). The output schema is `schema`, else what the function
        returns for an empty batch, else the input schema."""
        return self._batch_function("map", function, schema, name)

    def flat_map(self, function: Callable[[pa.RecordBatch], Any],
                 schema: Optional[pa.Schema] = None, name: Optional[str] = None) -> "Stream":
        """Like map, but `function` returns a list of batches (or None for none)."""
        return self._batch_function("flat_map", function, schema, name)

    def _batch_function(self, kind: str, function: Callable, schema: Optional[pa.Schema],
                        name: Optional[str]) -> "Stream":
        label = name or f"{kind}[{getattr(function, '__name__', 'function')}]"

        def build(env, inputs):
            upstream = inputs[0]
            output = _output_schema(function, upstream.schema, schema)
            return getattr(upstream, kind)(label, function, output)
        return self._then(build)

    def union(self, *others: "Stream") -> "Stream":
        """Merges streams of equal schemas."""
        return self._then(lambda env, inputs: inputs[0].union(list(inputs[1:])), *others)

    def with_watermark(self, column: str, max_delay: Duration = 0,
                       idle_timeout: Optional[Duration] = None) -> "Stream":
        """Declares `column` (int64 milliseconds or a timestamp) as event time, with
        watermarks `max_delay` behind the largest time seen (bounded out-of-orderness).
        Windows downstream use this column."""
        delay = to_millis(max_delay, "max_delay")
        idle = 0 if idle_timeout is None else to_millis(idle_timeout, "idle_timeout")
        return self._then(lambda env, inputs: inputs[0].with_watermark(column, delay, idle))

    def key_by(self, *columns: str) -> "KeyedStream":
        """Partitions rows by the key columns: windows and aggregates are per key."""
        if len(columns) == 1 and isinstance(columns[0], (list, tuple)):
            columns = tuple(columns[0])
        if not columns or not all(isinstance(c, str) for c in columns):
            raise TypeError("key_by() takes column names, e.g. key_by('account')")
        keys = list(columns)
        return KeyedStream(self._then(lambda env, inputs: inputs[0].key_by(keys)))

    def set_parallelism(self, parallelism: int) -> "Stream":
        """Runs this step with `parallelism` subtasks."""
        if parallelism < 1:
            raise ValueError(f"parallelism must be at least 1, got {parallelism}")
        node = _Node(self._node.build, self._node.inputs)
        node.parallelism = parallelism
        return Stream(node, self._default_parallelism)

    # ---- sinks and execution ---------------------------------------------------------

    def collect(self, parallelism: int = 1) -> pa.Table:
        """Runs the pipeline and returns every row as a pyarrow Table."""
        env = _environment(parallelism)
        collected = _build(env, self._node).collect()
        env.execute()
        return collected.to_table()

    def to_pylist(self, parallelism: int = 1) -> list:
        """Runs the pipeline and returns the rows as a list of dicts."""
        return self.collect(parallelism).to_pylist()

    def to_file(self, path: str, format: Optional[str] = None, exactly_once: bool = False,
                parallelism: int = 1) -> dict:
        """Runs the pipeline into files under the directory `path` (subtask i writes
        part-<i>.<ext>). Returns the job's figures."""
        file_format = format or "jsonl"
        env = _environment(parallelism)
        _build(env, self._node).write_files(path, file_format, exactly_once)
        return env.execute()

    def to_kafka(self, bootstrap: str, topic: str, value_serializer: str = "json",
                 key_columns: Sequence[str] = (), exactly_once: bool = False,
                 checkpoint_dir: Optional[str] = None, checkpoint_interval: Duration = 1.0,
                 parallelism: int = 1, transactional_id_prefix: str = "",
                 properties: Optional[dict] = None, partitions: Optional[int] = None) -> dict:
        """Runs the pipeline into a Kafka topic with the engine's sink: rows encoded by
        `value_serializer`, keys from `key_columns`. `exactly_once` writes one Kafka
        transaction per checkpoint and needs `checkpoint_dir`. With `partitions`, a
        missing topic is created; without, it must exist."""
        if partitions is not None:
            _sabot.kafka_ensure_topic(bootstrap, topic, partitions)
        else:
            try:
                _sabot.kafka_end_offsets(bootstrap, topic)
            except KeyError:
                raise KeyError(f"Kafka topic {topic} does not exist: create it, or pass "
                               f"partitions= to create it") from None
        if exactly_once and not checkpoint_dir:
            raise ValueError("exactly_once=True commits a Kafka transaction per checkpoint: "
                             "pass checkpoint_dir=")
        env = _environment(parallelism)
        if checkpoint_dir:
            env.enable_checkpointing(checkpoint_dir,
                                     to_millis(checkpoint_interval, "checkpoint_interval"))
        _build(env, self._node).write_kafka(
            bootstrap, topic, value_serializer, "", list(key_columns), exactly_once,
            transactional_id_prefix, {str(k): str(v) for k, v in (properties or {}).items()})
        return env.execute()

    def to(self, topic, key: Optional[str] = None, parallelism: int = 1) -> dict:
        """Runs the pipeline into an App topic (``app.topic(...)``): one message per row
        (the row as a dict, serialized by the topic's value serializer; the 'arrow'
        serializer sends each batch as one message), keyed by the column `key` (a string
        column's value, else the object {key: value}, as the engine's Kafka sink keys
        rows). On a Kafka broker the engine's Kafka sink writes it."""
        kind, hosts = topic.app._broker
        if kind == "kafka" and topic.value_serializer.name in ("json", "msgpack", "raw"):
            topic._backend  # creates the topic with its partitions
            return self.to_kafka(hosts, topic.name, topic.value_serializer.name,
                                 key_columns=[key] if key else [], parallelism=parallelism,
                                 partitions=topic.partitions)
        table = self.collect(parallelism)
        if topic.value_serializer.name == "arrow":
            topic.send_many(table.to_batches())
        else:
            rows = table.to_pylist()
            # Keys as the engine's Kafka sink makes them: a string column's value, else
            # the JSON object {column: value}.
            keys = None
            if key:
                string_key = pa.types.is_string(table.schema.field(key).type)
                keys = [row[key] if string_key else {key: row[key]} for row in rows]
            topic.send_many(rows, keys=keys)
        topic.flush_pending()
        topic._backend.flush()
        return {"rows": table.num_rows}

    def run(self, parallelism: int = 1) -> dict:
        """Runs the pipeline, discarding its output; returns the job's figures
        (elapsed_seconds, cpu_seconds, metrics per node)."""
        env = _environment(parallelism)
        _build(env, self._node).blackhole()
        return env.execute()

    @property
    def schema(self) -> pa.Schema:
        """The schema of this stream's rows (builds the pipeline without running it)."""
        env = _environment(1)
        handle = _build(env, self._node)
        handle.blackhole()
        env.validate()
        return handle.schema


class KeyedStream:
    """A stream partitioned by key (Stream.key_by)."""

    def __init__(self, stream: Stream):
        self._stream = stream

    def window(self, window: WindowSpec) -> "WindowedStream":
        """Cuts each key's rows into windows: sb.tumbling, sb.sliding, sb.session or
        sb.count(size)."""
        if not isinstance(window, WindowSpec):
            raise TypeError("window() takes sb.tumbling(...), sb.sliding(...), "
                            "sb.session(...) or sb.count(size)")
        return WindowedStream(self._stream, window)

    def aggregate(self, *specs, **named) -> Stream:
        """Running aggregates per key (no window): an upsert stream of the key columns
        and the aggregates, updated after each batch that changed a key."""
        aggregates = aggregate_specs(specs, named)
        return self._stream._then(lambda env, inputs: inputs[0].aggregate(aggregates))


class WindowedStream:
    """A keyed stream cut into windows (KeyedStream.window)."""

    def __init__(self, stream: Stream, window: WindowSpec, lateness_ms: int = 0):
        self._stream = stream
        self._window = window
        self._lateness_ms = lateness_ms

    def allowed_lateness(self, lateness: Duration) -> "WindowedStream":
        """Keeps windows for `lateness` after they fired; late rows update them and the
        new result is emitted again."""
        return WindowedStream(self._stream, self._window, to_millis(lateness, "lateness"))

    def aggregate(self, *specs, **named) -> Stream:
        """One row per key and window when it fires: key columns, window_start,
        window_end, then the aggregates. Specs: ``total=sb.sum("amount")``, or the dict
        form ``{"total": ("amount", "sum")}``."""
        aggregates = aggregate_specs(specs, named)
        window = self._window
        lateness = self._lateness_ms

        def build(env, inputs):
            windowed = inputs[0].window(window)
            if lateness:
                windowed = windowed.allowed_lateness(lateness)
            return windowed.aggregate(aggregates)
        return self._stream._then(build)


def _environment(parallelism: int) -> "_sabot.Environment":
    if parallelism < 1:
        raise ValueError(f"parallelism must be at least 1, got {parallelism}")
    env = _sabot.Environment()
    env.set_parallelism(parallelism)
    return env


def _build(env, node: _Node, built: Optional[dict] = None):
    """Adds `node` and everything upstream to `env` once each; returns its handle."""
    if built is None:
        built = {}
    key = id(node)
    if key not in built:
        inputs = [_build(env, upstream, built) for upstream in node.inputs]
        handle = node.build(env, inputs)
        if node.parallelism is not None:
            handle = handle.set_parallelism(node.parallelism)
        built[key] = handle
    return built[key]
