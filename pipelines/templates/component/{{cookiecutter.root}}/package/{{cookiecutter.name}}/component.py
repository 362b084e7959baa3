"""KFP interface of {{ cookiecutter.name }}; the work is in `core`."""
{% if cookiecutter.use_case %}
from components.external_state import external_state
from components.images import image
from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Output
{%- else %}
from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Output

from components.external_state import external_state
from components.images import image
{%- endif %}


# What the step reads outside its inputs, for Vertex's cache (see components/external_state.py): a
# table behind `data_uri` is read again only when `data_fingerprint` (fingerprint_inputs' output) changes.
@external_state(reads={"data_uri": "data_fingerprint"})
@dsl.component(base_image=image("{{ cookiecutter.name }}"), install_kfp_package=False)
def {{ cookiecutter.name }}(
    output: Output[Dataset],
    metrics: Output[Metrics],
    data: Input[Dataset] = None,
    data_uri: str = "",
    data_fingerprint: str = "",
):
    """Transforms a table (TODO: say what this step does, for the people who compose it).

    Args:
        data: The table to read, as a Dataset artifact (parquet file or folder, or CSV).
            Give either `data` or `data_uri`.
        data_uri: The table to read, as a local path, /gcs/ path or gs:// URI.
        data_fingerprint: The content fingerprint of `data_uri` (fingerprint_inputs' `data_fingerprint`),
            so that Vertex reuses a cached run of this step only when the table is unchanged.

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
