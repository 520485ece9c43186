"""GB/T 2260 administrative division names: one lookup for every page that shows a district code.

The table is data (`core/data/gbt2260.json`: 2-digit provinces, 4-digit cities, 6-digit counties/districts).
It holds the whole table (3,200 codes: the platform's deployments plus the newest edition shipped by the
BSD-licensed GB2260 project); a code missing from it is shown as the bare code, never as a wrong name. Extend
the file, not this module.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    text = resources.files("equipment.core").joinpath("data/gbt2260.json").read_text(encoding="utf-8")
    return json.loads(text)


def region_name(code: str | None) -> str | None:
    """'350102' -> '福州市鼓楼区', '3501' -> '福建省福州市', '35' -> '福建省'; None when the code is unknown.

    A district is named with its city (鼓楼区 exists in Fuzhou and Nanjing); a city with its province
    (municipalities, whose city part repeats the province, are named once)."""
    table = _table()
    code = (code or "").strip()
    if len(code) not in (2, 4, 6) or code not in table:
        return None
    if len(code) == 2:
        return table[code]
    parent = region_name(code[:-2])
    own = table[code]
    if parent is None or parent.endswith(own):
        return own
    # '福建省福州市' + '鼓楼区' -> drop the province for districts: the city is enough to be unique.
    return (table.get(code[:4], "") + own) if len(code) == 6 else parent + own


def region_label(code: str | None) -> str:
    """The name when known, else the code itself (or '-' for none): for labels that must never be empty."""
    return region_name(code) or (code or "-")
