"""The churn example's settings (examples/churn/), which the library never assumes: tests pass them.

training(data_uri=uri, **churn.TRAINING)           batch_scoring(..., **churn.SCORING)
keel("run", "training", "--local", *churn.cli(churn.TRAINING))
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from components.common import sample_data

ROOT = Path(__file__).resolve().parents[1]
SUITE = str(ROOT / "examples" / "churn" / "suite.json")
LABEL = sample_data.LABEL  # "churned"
MODEL_NAME = "churn"
ID_COLUMNS = list(sample_data.ID_COLUMNS)  # ["customer_id"]

# The training pipeline's parameters for the sample data; batch scoring's (the suite and the label
# to skip come from the model).
TRAINING = {
    "label": LABEL,
    "model_name": MODEL_NAME,
    "suite_uri": SUITE,
    "id_columns": ID_COLUMNS,
    "split_key": ID_COLUMNS[0],
}
SCORING = {"model_name": MODEL_NAME, "id_columns": ID_COLUMNS}


def cli(params: dict[str, Any]) -> list[str]:
    """`params` as `keel run`/`keel submit` arguments: `--param key=value`, JSON for non-text values."""
    return [
        f"--param={key}={value if isinstance(value, str) else json.dumps(value)}"
        for key, value in params.items()
    ]
