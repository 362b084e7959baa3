"""Names `keel new` gives to use cases and components, checked before anything is written.

A name is a lowercase Python identifier that is not a keyword. A component's name must not be one of
this library's components or images (they share one naming rule, `keel-<name>`); a use case's package
must not hide a module Python can import already (the standard library, an installed package) nor
be one of the folders of a use case.
"""

from __future__ import annotations

import importlib.util
import keyword
import re
import sys
from pathlib import Path

from components.common.errors import KeelError

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
# The folders of a generated use case, and this library's packages.
RESERVED = frozenset({"components", "pipelines", "tests", "images", "data", "build", "suites"})


class InvalidNameError(KeelError, ValueError):
    """A name that cannot be used; the message says which rule it breaks."""


def check_identifier(name: str, what: str) -> str:
    """`name` when it is a lowercase Python identifier and not a keyword; InvalidNameError otherwise."""
    if not _IDENTIFIER.fullmatch(name or "") or keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise InvalidNameError(
            f"{what} {name!r}: use lowercase letters, digits and '_', starting with a letter or '_', "
            "and not a Python keyword"
        )
    return name


def check_component_name(name: str) -> str:
    """A new component's name: an identifier that is none of this library's components."""
    import components

    check_identifier(name, "component name")
    # base and serve: images named by the same rule as a component's (keel-base, keel-serve)
    if (
        name in components.__all__
        or name in RESERVED
        or name in ("common", "discovery", "images", "base", "serve")
    ):
        raise InvalidNameError(
            f"component name {name!r}: keel-pipelines has a component, module or image of that name "
            f"(its components: {', '.join(components.__all__)})"
        )
    return name


def check_package_name(name: str, folder: Path) -> str:
    """A use case's package name: an identifier that no importable module has (outside `folder`)."""
    check_identifier(name, "use case package name")
    if name in RESERVED or name in sys.stdlib_module_names:
        raise InvalidNameError(
            f"use case package name {name!r}: reserved (a standard module or a use case folder)"
        )
    spec = importlib.util.find_spec(name)
    origin = Path(spec.origin).resolve() if spec is not None and spec.origin else None
    if origin is not None and folder.resolve() not in origin.parents:
        raise InvalidNameError(
            f"use case package name {name!r}: a module of that name is importable already ({origin}); "
            "name the folder otherwise"
        )
    return name
