"""Window and aggregate specifications for Stream.window(...).aggregate(...)."""

from __future__ import annotations

from typing import Optional, Union

from . import _sabot
from ._time import Duration, to_millis

WindowSpec = _sabot.WindowSpec
AggregateSpec = _sabot.AggregateSpec


def tumbling(seconds: Duration, offset: Duration = 0) -> WindowSpec:
    """Fixed windows [start, start + size) aligned to the epoch (plus `offset`)."""
    return _sabot.tumbling_window(to_millis(seconds, "seconds"), to_millis(offset, "offset"))


def sliding(size_seconds: Duration, slide_seconds: Duration, offset: Duration = 0) -> WindowSpec:
    """Windows of `size_seconds` starting every `slide_seconds` (hopping windows)."""
    return _sabot.sliding_window(to_millis(size_seconds, "size_seconds"),
                                 to_millis(slide_seconds, "slide_seconds"),
                                 to_millis(offset, "offset"))


def session(gap_seconds: Duration) -> WindowSpec:
    """Per-key sessions that close after `gap_seconds` without events."""
    return _sabot.session_window(to_millis(gap_seconds, "gap_seconds"))


def count(size: Union[int, str, None] = None, slide: Optional[int] = None):
    """Two uses, told apart by the argument:

    - ``count(100)`` or ``count(100, slide=10)``: a count window of `size` rows per key,
      firing every `slide` rows with the last `size` rows when `slide` is given.
    - ``count()`` or ``count("col")``: the aggregate count(*) or the number of non-null
      values of a column.
    """
    if isinstance(size, bool):
        raise TypeError("count() takes a window size (int) or a column name (str)")
    if isinstance(size, int):
        if size <= 0:
            raise ValueError(f"a count window's size must be positive, got {size}")
        if slide is not None and slide <= 0:
            raise ValueError(f"a count window's slide must be positive, got {slide}")
        return _sabot.count_window(size, slide or 0)
    if slide is not None:
        raise TypeError("slide= applies to count windows: count(size, slide=...)")
    return _sabot.agg_count(size or "")


def sum(column: str) -> AggregateSpec:  # noqa: A001 - the aggregate's name
    """Sum of a numeric column (int64 for integers, double for floats)."""
    return _sabot.agg_sum(column)


def min(column: str) -> AggregateSpec:  # noqa: A001
    return _sabot.agg_min(column)


def max(column: str) -> AggregateSpec:  # noqa: A001
    return _sabot.agg_max(column)


def avg(column: str) -> AggregateSpec:
    """Mean of a numeric column as double."""
    return _sabot.agg_avg(column)


mean = avg


def first(column: str) -> AggregateSpec:
    """Value of the row with the smallest event time."""
    return _sabot.agg_first(column)


def last(column: str) -> AggregateSpec:
    """Value of the row with the largest event time."""
    return _sabot.agg_last(column)


def count_distinct(column: str) -> AggregateSpec:
    return _sabot.agg_count_distinct(column)


def stddev(column: str) -> AggregateSpec:
    """Sample standard deviation (null below two values)."""
    return _sabot.agg_stddev(column)


def stddev_pop(column: str) -> AggregateSpec:
    return _sabot.agg_stddev_pop(column)


def variance(column: str) -> AggregateSpec:
    return _sabot.agg_variance(column)


def variance_pop(column: str) -> AggregateSpec:
    return _sabot.agg_variance_pop(column)


_BY_NAME = {
    "sum": sum, "min": min, "max": max, "avg": avg, "mean": avg, "first": first,
    "last": last, "count_distinct": count_distinct, "stddev": stddev,
    "stddev_pop": stddev_pop, "variance": variance, "variance_pop": variance_pop,
    "count": lambda column: _sabot.agg_count(column or ""),
}


def aggregate_specs(specs: tuple, named: dict) -> list:
    """Turns aggregate(...) arguments into engine specs.

    Accepts specs (``sb.sum("x")``), keyword specs (``total=sb.sum("x")``) and the dict
    form (``{"total": ("x", "sum")}``)."""
    result = []
    for spec in specs:
        if isinstance(spec, dict):
            for name, entry in spec.items():
                result.append(_from_dict_entry(name, entry))
        elif isinstance(spec, AggregateSpec):
            result.append(spec)
        else:
            raise TypeError(f"aggregate() takes sb.sum(...)-style specs or a dict "
                            f"{{'out': ('column', 'sum')}}, got {type(spec).__name__}")
    for name, spec in named.items():
        if isinstance(spec, tuple):
            result.append(_from_dict_entry(name, spec))
        elif isinstance(spec, AggregateSpec):
            result.append(spec.alias(name))
        else:
            raise TypeError(f"aggregate({name}=...) takes a spec such as sb.sum('x'), "
                            f"got {type(spec).__name__}")
    if not result:
        raise ValueError("aggregate() needs at least one aggregate, e.g. total=sb.sum('amount')")
    return result


def _from_dict_entry(name: str, entry) -> AggregateSpec:
    if not (isinstance(entry, tuple) and len(entry) == 2):
        raise TypeError(f"aggregate entry '{name}' must be ('column', 'function'), got {entry!r}")
    column, function = entry
    maker = _BY_NAME.get(function)
    if maker is None:
        raise ValueError(f"aggregate entry '{name}': unknown function '{function}'; use one of "
                         f"{', '.join(sorted(_BY_NAME))}")
    return maker(column).alias(name)
