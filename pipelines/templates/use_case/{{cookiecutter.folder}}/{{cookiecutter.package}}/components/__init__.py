"""The components of {{ cookiecutter.package }}: every folder `<name>/` with a component.py defining `<name>`.

`keel new component NAME` (run in the use case's folder) adds one; nothing here needs editing.
"""

from components.discovery import export_components

__all__ = export_components(__name__, __file__, globals())
