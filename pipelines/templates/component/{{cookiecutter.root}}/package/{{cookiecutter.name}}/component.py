"""KFP interface of {{ cookiecutter.name }}; the work is in `core`."""
{% if cookiecutter.use_case %}
from components.images import image
from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Output
{%- else %}
from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Output

from components.images import image
{%- endif %}


@dsl.component(base_image=image("{{ cookiecutter.name }}"), install_kfp_package=False)
def {{ cookiecutter.name }}(
    output: Output[Dataset],
    metrics: Output[Metrics],
    data: Input[Dataset] = None,
    data_uri: str = "",
):
    """Transforms a table (TODO: say what this step does, for the people who compose it).

    Args:
        data: The table to read, as a Dataset artifact (parquet file or folder, or CSV).
            Give either `data` or `data_uri`.
        data_uri: The table to read, as a local path, /gcs/ path or gs:// URI.

    Returns:
        output: The transformed table (parquet).
        metrics: rows_in, rows_out.
    """
{%- if cookiecutter.use_case %}
    from components.common.inputs import table_source

    from {{ cookiecutter.package }}.{{ cookiecutter.name }} import core
{%- else %}
    from components.common.inputs import table_source
    from {{ cookiecutter.package }}.{{ cookiecutter.name }} import core
{%- endif %}

    path, uri = table_source(data, data_uri, "{{ cookiecutter.name }}")
    result = core.run(path, output.path, record_uri=uri)
    for name, value in result.metrics().items():
        metrics.log_metric(name, value)
