"""Sabot: stream processing with a C++ engine over Apache Arrow batches.

    import sabot as sb

    large = (sb.Stream.from_pylist(rows)
             .filter(sb.col("amount") > 1000)
             .select("account", "amount")
             .to_pylist())
"""

# pyarrow first: it loads the libarrow the engine links against.
import pyarrow as _pyarrow  # noqa: F401

from . import _sabot
from .agents import Agent, AgentStream, DecodeError
from .app import App
from .brokers import DeliveryError
from .state import (AggregatingState, BackendConfig, ListState, MapState, MemoryBackend,
                    ReducingState, RocksDBBackend, ValueState)
from .tables import Table
from .time_primitives import (Barrier, BarrierTracker, Coordinator, Timers,
                              WatermarkTracker)
from .topics import RecordMetadata, Topic
from .stream import Expr, KeyedStream, Stream, WindowedStream, col, lit
from .windows import (AggregateSpec, WindowSpec, avg, count, count_distinct, first, last,
                      max, mean, min, session, sliding, stddev, stddev_pop, sum, tumbling,
                      variance, variance_pop)

__version__ = "0.1.0"

create_app = App

__all__ = [
    "AggregatingState", "BackendConfig", "ListState", "MapState", "MemoryBackend",
    "ReducingState", "RocksDBBackend", "ValueState",
    "Barrier", "BarrierTracker", "Coordinator", "Timers", "WatermarkTracker",
    "Agent", "AgentStream", "App", "DecodeError", "DeliveryError", "RecordMetadata", "Table", "Topic", "create_app",
    "AggregateSpec", "Expr", "KeyedStream", "Stream", "WindowSpec", "WindowedStream",
    "avg", "col", "count", "count_distinct", "first", "last", "lit", "max", "mean", "min",
    "session", "sliding", "stddev", "stddev_pop", "sum", "tumbling", "variance",
    "variance_pop",
]
