"""``sampling.sizes`` in ``policy.yaml``: how many records to sample from a population.

Common audit practice for a control operating many times a period, and the default::

    sampling:
      sizes:
        - {up_to: 12, size: 2}     # a population of up to 12 records: sample 2
        - {up_to: 52, size: 5}
        - {up_to: 250, size: 25}
        - {size: 40}               # larger populations

The first entry whose ``up_to`` is at least the population's size applies; the entry
without ``up_to`` (last) covers every larger population. A population smaller than its
size is taken whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opsledger.errors import ConfigError
from opsledger.model.settings import Setting, SettingType

_ENTRY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["size"],
    "properties": {
        "up_to": {"type": "integer", "minimum": 1},
        "size": {"type": "integer", "minimum": 1},
    },
}


def _sizes(value: Any) -> tuple[tuple[int | None, int], ...]:
    return tuple((entry.get("up_to"), int(entry["size"])) for entry in value)


SIZES_TYPE = SettingType(
    "list of {up_to, size}; the last entry may omit up_to",
    {"type": "array", "minItems": 1, "items": _ENTRY},
    _sizes,
)
DEFAULT_SIZES: tuple[Mapping[str, int], ...] = (
    {"up_to": 12, "size": 2},
    {"up_to": 52, "size": 5},
    {"up_to": 250, "size": 25},
    {"size": 40},
)
SIZES = Setting(
    "sampling.sizes",
    SIZES_TYPE,
    [dict(entry) for entry in DEFAULT_SIZES],
    "the sample size by population size for 'opsledger sample' (the first entry whose "
    "up_to is at least the population applies; an entry without up_to covers larger "
    "populations; a population smaller than the size is taken whole)",
)

SETTINGS: tuple[Setting, ...] = (SIZES,)


def out_of_order(sizes: Sequence[tuple[int | None, int]]) -> tuple[int, str] | None:
    """Where the table is out of order and why (each ``up_to`` larger than the one before,
    only the last entry without one), or None. Every command refuses such a policy
    (:func:`opsledger.rulesettings.check_rule_settings`), not only ``sample``."""
    last = 0
    for position, (up_to, _) in enumerate(sizes):
        if up_to is None and position != len(sizes) - 1:
            return position, (
                "sampling.sizes: only the last entry may omit up_to (it covers every larger "
                "population)"
            )
        if up_to is not None and up_to <= last:
            return position, (
                f"sampling.sizes: up_to {up_to} must be larger than the entry before it; "
                "list the entries from the smallest population up"
            )
        last = up_to or last
    return None


def size_for(population: int, sizes: Sequence[tuple[int | None, int]]) -> int:
    """The sample size for a population of ``population`` records (at most all of them).

    Raises :class:`ConfigError` when the table is out of order (:func:`out_of_order`)."""
    wrong = out_of_order(sizes)
    if wrong is not None:
        raise ConfigError(f"policy.yaml {wrong[1]}")
    for up_to, size in sizes:
        if up_to is None or population <= up_to:
            return min(size, population)
    return min(sizes[-1][1], population)
