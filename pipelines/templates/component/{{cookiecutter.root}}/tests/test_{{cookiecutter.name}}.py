"""{{ cookiecutter.name }}: its core on a real table, and the component under kfp.local."""

from pathlib import Path

{% if cookiecutter.use_case -%}
import pandas as pd
from components.common import io
from kfp import dsl

from {{ cookiecutter.package }} import {{ cookiecutter.name }}
{% else -%}
import pandas as pd
from kfp import dsl

from components import {{ cookiecutter.name }}
from components.common import io
{% endif -%}
from {{ cookiecutter.package }}.{{ cookiecutter.name }} import core


def write_table(folder: Path) -> Path:
    """A small table for this step, written to `folder`."""
    frame = pd.DataFrame({"x": range(20), "y": [i * 0.5 for i in range(20)], "kind": ["a", "b"] * 10})
    io.write_table(frame, str(folder / "table.parquet"))
    return folder / "table.parquet"


def check_outputs(outputs: dict) -> None:
    """What every run of the component on `write_table`'s table gives; `outputs` holds each output
    parameter's value and each output artifact's local path."""
    assert len(io.read_table(str(outputs["output"]))) == 20


# keel's container test runs this component in its image with these arguments (an input artifact as
# (its type, a function that writes it into a folder), a parameter as its value), then `check`s it.
CONTAINER_CASE = {"arguments": {"data": (dsl.Dataset, write_table)}, "check": check_outputs}


def test_run_writes_the_transformed_table(tmp_path: Path):
    result = core.run(str(write_table(tmp_path)), str(tmp_path / "out.parquet"))
    assert result.metrics() == {"rows_in": 20, "rows_out": 20}
    expected = core.transform(io.read_table(str(tmp_path / "table.parquet")))
    pd.testing.assert_frame_equal(io.read_table(str(tmp_path / "out.parquet")), expected)


def test_component_runs_under_kfp_local(kfp_local: Path, tmp_path: Path):
    task = {{ cookiecutter.name }}(data_uri=str(write_table(tmp_path)))
    check_outputs({"output": task.outputs["output"].path})
    assert task.outputs["metrics"].metadata == {"rows_in": 20, "rows_out": 20}
