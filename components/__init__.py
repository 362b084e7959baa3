"""keel-pipelines components: every KFP component, ready to compose into a pipeline.

from components import validate_data
"""

import os

__all__ = ["validate_data"]

# Inside a running task, KFP's executor sets _KFP_RUNTIME and its `kfp.dsl` has no `component`
# decorator: the task only needs `components.<name>.core` and `components.common`.
if os.environ.get("_KFP_RUNTIME") != "true":
    from components.validate_data.component import validate_data
