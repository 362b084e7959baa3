"""keel-pipelines components: every KFP component, ready to compose into a pipeline.

from components import validate_data, train_model, evaluate_model

Every folder `components/<name>/` with a `component.py` defining `<name>` is a component (see
components/discovery.py): a new one needs no edit here.
"""

from components.discovery import export_components

__all__ = export_components(__name__, __file__, globals())
