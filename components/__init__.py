"""keel-pipelines components: every KFP component, ready to compose into a pipeline.

from components import validate_data, train_model, evaluate_model
"""

import os

__all__ = [
    "validate_data",
    "combine_validation",
    "split_data",
    "train_model",
    "evaluate_model",
    "select_model",
    "register_model",
    "resolve_model",
    "plan_shards",
    "batch_predict",
    "publish_predictions",
]

# Inside a running task, KFP's executor sets _KFP_RUNTIME and its `kfp.dsl` has no `component`
# decorator: the task only needs `components.<name>.core` and `components.common`.
if os.environ.get("_KFP_RUNTIME") != "true":
    from components.batch_predict.component import batch_predict
    from components.combine_validation.component import combine_validation
    from components.evaluate_model.component import evaluate_model
    from components.plan_shards.component import plan_shards
    from components.publish_predictions.component import publish_predictions
    from components.register_model.component import register_model
    from components.resolve_model.component import resolve_model
    from components.select_model.component import select_model
    from components.split_data.component import split_data
    from components.train_model.component import train_model
    from components.validate_data.component import validate_data
