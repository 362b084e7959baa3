"""{{ cookiecutter.name }}: the work of the component, in plain Python (no kfp).

    from {{ cookiecutter.package }}.{{ cookiecutter.name }} import core
    result = core.run("data.parquet", "out.parquet")      # what the component does, from a notebook

TODO: put this step's work in `transform` (it returns the table as it is for now).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
{%- if not cookiecutter.use_case %}
{% endif %}
from components.common import io
from components.common.tracking import track


@dataclass(frozen=True)
class Result:
    rows_in: int
    rows_out: int

    def metrics(self) -> dict[str, float]:
        return {"rows_in": self.rows_in, "rows_out": self.rows_out}


def transform(frame: pd.DataFrame) -> pd.DataFrame:
    """This step's work on one table."""
    return frame


def run(data_uri: str, output_uri: str, record_uri: str = "") -> Result:
    """Read the table at `data_uri`, transform it and write the result to `output_uri` (parquet,
    atomically: a failure leaves no partial file). `record_uri` is what tracking records (default
    `data_uri`)."""
    with track("{{ cookiecutter.name }}", params={"data": record_uri or data_uri, "output": output_uri}) as tracked:
        frame = io.read_table(data_uri)
        transformed = transform(frame)
        io.write_table(transformed, output_uri)
        result = Result(len(frame), len(transformed))
        tracked.log_metrics(result.metrics())
    return result
