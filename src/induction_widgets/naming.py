"""Old public names kept as deprecated aliases (the naming rule: docs/naming.md).

A module lists its renamed names, ``{old: new}``, and gets a module ``__getattr__`` from
:func:`deprecated_aliases`: reading an old name warns with a :class:`DeprecationWarning` that names
the new one, and returns the very same object. Old names are left out of ``__all__`` (so
``from induction_widgets import *`` does not warn) and out of the module's namespace (so
``__getattr__`` sees every use).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any


def deprecated_aliases(
    module: str, renamed: Mapping[str, str], namespace: Mapping[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving ``renamed`` (old → new name) from ``namespace`` (the
    module's ``globals()``) with a :class:`DeprecationWarning`."""

    def __getattr__(name: str) -> Any:
        new = renamed.get(name)
        if new is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warnings.warn(
            f"{module}.{name} is deprecated: use {module}.{new}, the same object "
            "(the naming rule: docs/naming.md)",
            DeprecationWarning,
            stacklevel=2,
        )
        return namespace[new]

    return __getattr__
