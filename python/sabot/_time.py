"""Durations given as seconds (int or float) or datetime.timedelta, turned into engine
milliseconds."""

from __future__ import annotations

import datetime
from typing import Union

Duration = Union[int, float, datetime.timedelta]


def to_millis(value: Duration, what: str) -> int:
    """Returns `value` in whole milliseconds; `what` names the parameter in errors."""
    if isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise TypeError(f"{what} must be seconds (int or float) or a datetime.timedelta, "
                        f"got {type(value).__name__}")
    if seconds < 0:
        raise ValueError(f"{what} must not be negative, got {value!r}")
    return round(seconds * 1000)
