"""`keel lineage`: which model version scored a predictions file, trained on which data, by which
run, from which code and images.

keel lineage PREDICTIONS_FILE [--registry URI] [--json]
keel lineage OUTPUT_URI --run-date YYYY-MM-DD [--registry URI] [--json]
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_command(commands) -> None:
    lineage = commands.add_parser(
        "lineage", help="which model, data, run, code and images a predictions file came from"
    )
    lineage.add_argument(
        "predictions", help="a published predictions file, or the output_uri with --run-date"
    )
    lineage.add_argument("--run-date", metavar="YYYY-MM-DD", help="the partition of OUTPUT_URI to look at")
    lineage.add_argument("--registry", help="registry URI (default: KEEL_REGISTRY, else .keel/registry)")
    lineage.add_argument("--json", action="store_true", help="print the lineage as JSON")
    lineage.set_defaults(handler=cmd_lineage)


def cmd_lineage(args: argparse.Namespace) -> None:
    from components.common import lineage
    from components.common.config import settings
    from components.common.registry import open_registry
    from components.publish_predictions.core import target_uri

    uri = target_uri(args.predictions, args.run_date) if args.run_date else args.predictions
    record = lineage.of_predictions(uri, open_registry(args.registry or settings().registry_uri))
    print(json.dumps(record, indent=2) if args.json else describe(record))


def describe(record: dict[str, Any]) -> str:
    """The lineage of a predictions file (components.common.lineage.of_predictions) as text."""
    predictions = record["predictions"]
    lines = [f"{predictions['uri']}: {predictions['rows']:,} rows, sha256 {predictions['sha256']}"]
    for scoring in record["scored_by"]:
        lines.append(
            f"  {scoring['rows']:,} rows scored by {scoring['model_name']} v{scoring['model_version']} "
            f"in run {scoring['run_id'] or '-'} ({scoring['first_scored_at']})"
        )
        model = scoring["model"]
        if "error" in model:
            lines.append(f"    registry {record['registry']}: {model['error']}")
            continue
        data, run, code = model["training_data"], model["training_run"], model["code"]
        aliases = f" [{', '.join(model['aliases'])}]" if model["aliases"] else ""
        lines += [
            f"    model:         {model['model']} v{model['version']}{aliases}, registered "
            f"{model['registered_at']} in {record['registry']}, model.joblib sha256 {model['model_sha256']}",
            f"    source data:   {model['source_data']['uri'] or '?'} (fingerprint "
            f"{model['source_data']['fingerprint'] or '?'})",
            f"    trained on:    {data.get('uri', '?')} ({data.get('rows', '?')} rows, sha256 {data.get('sha256') or '?'})",
            f"    training run:  {run['pipeline_job'] or '?'} (run id {run['pipeline_run_id'] or '?'})",
            f"    ClearML tasks: training {model['tracking']['training'] or '?'}, "
            f"registration {model['tracking']['registration'] or '?'}",
            f"    code:          keel-pipelines {code['version'] or '?'} at revision {code['revision'] or '?'}",
            f"    images:        {', '.join(model['images']) or 'none (a kfp.local run: the code above)'}",
        ]
    return "\n".join(lines)
