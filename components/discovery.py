"""Find the components of a package: every folder `<name>/` with a `component.py` that defines `<name>`.

    # <package>/__init__.py of a package of components (this library's, or a use case's)
    from components.discovery import export_components
    __all__ = export_components(__name__, __file__, globals())

A new component folder is picked up by `import`, `keel compile` and the image builds with no list to
edit. Standard library only: inside a running task (`_KFP_RUNTIME=true`) the names are still listed
but no component module is imported, since KFP's runtime `kfp.dsl` has no `component` decorator and a
task needs only `<package>.<name>.core`.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from components.common.errors import KeelError


class ComponentDiscoveryError(KeelError, ImportError):
    """A component folder whose component.py does not define the component it is named after."""


def component_names(package_dir: str | os.PathLike) -> list[str]:
    """The component folders of `package_dir` (those holding a component.py), sorted."""
    return sorted(path.parent.name for path in Path(package_dir).glob("*/component.py"))


def export_components(package: str, package_file: str, namespace: dict[str, Any]) -> list[str]:
    """Bind each component of `package` (at `package_file`'s folder) in `namespace`; returns the names.

    Nothing is imported inside a running task (see the module docstring)."""
    names = component_names(Path(package_file).parent)
    if os.environ.get("_KFP_RUNTIME") == "true":
        return names
    for name in names:
        module = importlib.import_module(f"{package}.{name}.component")
        if not hasattr(module, name):
            raise ComponentDiscoveryError(
                f"{module.__file__}: defines no component named {name!r} "
                f"(rule: {package}/{name}/component.py defines the component `{name}`)"
            )
        namespace[name] = getattr(module, name)
    return names
