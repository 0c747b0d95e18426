"""What an area adds to the schema, and finding every area.

Each area of app/schema declares one `AREA = Area(...)`: in its module (`app/schema/billing.py`) or,
for an area that is a package, in its `area.py` (`app/schema/users/area.py`). The schema is built
from every area found, so a new area is a new module or folder and no central list changes."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class Area:
    queries: tuple[type, ...] = ()
    mutations: tuple[type, ...] = ()
    subscriptions: tuple[type, ...] = ()
    # Types a client reaches only through an interface (`node(id:)` returns `Node`).
    types: tuple[type, ...] = ()


def find_areas(package: ModuleType, skip: frozenset[str] = frozenset({"runtime"})) -> dict[str, Area]:
    """{area name: Area} for each module or package below `package`, in name order."""
    found: dict[str, Area] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name in skip or info.name.startswith("_"):
            continue
        name = f"{package.__name__}.{info.name}"
        module = importlib.import_module(f"{name}.area" if info.ispkg else name)
        area = getattr(module, "AREA", None)
        if not isinstance(area, Area):
            raise TypeError(f"{module.__name__} declares no AREA = Area(...)")
        found[info.name] = area
    return found
