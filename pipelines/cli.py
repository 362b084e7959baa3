"""`keel`: compile, run locally or on Vertex AI, schedule, and manage suites, sample data and models.

keel compile [NAME ...] [--output-dir build] [--image-registry R] [--image-tag T]
    [--resources COMPONENT=cpu=N,memory=SIZE,accelerator=TYPE[:COUNT] ...]
keel run NAME --local [--param key=value ...]
keel submit PIPELINE --project P --location L --pipeline-root gs://... [JOB OPTIONS]
keel schedule create PIPELINE --cron "0 3 * * *" [--timezone TZ] [--max-concurrent-runs 1]
    [--max-runs N] [--start-time T] [--end-time T] [--name N] --project P --location L
    --pipeline-root gs://... [JOB OPTIONS]
keel schedule list --project P --location L [CONNECTION OPTIONS]
keel schedule pause|resume|delete SCHEDULE --project P --location L [CONNECTION OPTIONS]
keel suite build DATA --name NAME [--label COLUMN] [--unique COLUMN ...] [--output FILE]
keel sample-data OUTPUT [--rows N] [--seed S] [--no-label] [--broken VARIANT | --drifted]
keel registry list|show|promote|rollback|verify MODEL [REF] [--registry URI]
keel new use-case DIR --data REFERENCE --label L [--id-column C] [--model-name N] [--force]
keel new component NAME [--root DIR] [--force]
keel config options compile|submit|schedule [PIPELINE] [--config keel.toml]
keel images [--registry R] [--tag T]       (a use case's component images, FROM keel-base)
keel lineage PREDICTIONS_FILE | OUTPUT_URI --run-date D [--registry URI] [--json]
keel monitor OUTPUT_URI [--last N] [--plot FILE]
keel serve MODEL [--registry URI] [--port P] | --model-dir FOLDER   (online predictions)

NAME and PIPELINE: a pipeline or component of this library by name, or any one by import path,
`module:function` (importable from the working folder, e.g. `house_prices.pipelines:training`);
submit and schedule compile it first, or take a compiled YAML. JOB OPTIONS:
[--service-account SA] [--param k=v ...] [--no-cache] [--labels k=v ...] [--display-name N]
[--image-registry R --image-tag T] [--resources ...] plus ALERT OPTIONS (also on `keel compile`):
[--alert-webhook URL] [--alert-webhook-format F] [--alert-email ADDRESS ...] [--alert-on
failure|always] [--alert-success-message TEXT], plus CONNECTION OPTIONS: [--api-endpoint
HOST_OR_URL] [--api-transport grpc|rest]. Vertex AI calls use Application Default Credentials;
parameters are checked against the compiled pipeline before any call.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from pathlib import Path
from typing import Any

from components.common.config import settings
from components.common.errors import KeelError, ParameterError
from components.common.logging import logger
from components.images import DEFAULT_REGISTRY, __version__
from pipelines import cli_lineage, cli_serve, cli_use_case
from pipelines.parameters import check_params, declared_inputs, parse_params, split_pairs
from pipelines.vertex import TRANSPORTS


def _declared_parameters(runnable) -> dict[str, Any]:
    from google.protobuf import json_format

    return declared_inputs(json_format.MessageToDict(runnable.pipeline_spec))[0]


def _resources(args: argparse.Namespace) -> dict[str, Any]:
    from pipelines.steps import parse_resources

    return parse_resources(args.resources)


def _alerts(args: argparse.Namespace):
    """The alert settings the `--alert-*` options give (pipelines.alerting.Alerts), or None."""
    given = {
        "webhook_url": args.alert_webhook,
        "webhook_format": args.alert_webhook_format,
        "emails": tuple(args.alert_email),
        "on": args.alert_on,
        "success_message": args.alert_success_message,
    }
    if not any(given.values()):
        return None
    from pipelines.alerting import Alerts

    return Alerts(**{key: value for key, value in given.items() if value})


def cmd_compile(args: argparse.Namespace) -> None:
    from pipelines.compiling import compile_all

    for path in compile_all(
        args.output_dir, args.image_registry, args.image_tag, args.names, _resources(args), _alerts(args)
    ):
        print(f"compiled {path}")


def run_local(name: str, params: dict[str, Any]):
    """Run a component or pipeline with kfp.local in this environment; returns the task.

    Parameters are checked against the compiled spec and their rules first (outputs never inside
    inputs, the runs folder included). No task is retried here (see pipelines.steps.build)."""
    from google.protobuf import json_format
    from kfp import local
    from kfp.dsl.graph_component import GraphComponent

    from pipelines import steps
    from pipelines.compiling import load

    runnable = load(name)
    if isinstance(runnable, GraphComponent):
        runnable, _ = steps.build(runnable, {}, retries=False)
    spec = json_format.MessageToDict(runnable.pipeline_spec)
    params = check_params(params, spec, str(settings().runs_dir))
    # kfp.local warns that our components name images; here they run in this environment on purpose.
    warnings.filterwarnings("ignore", message="You may be attemping to run a task that uses custom")
    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(settings().runs_dir),
        raise_on_error=True,
    )
    return runnable(**params)


def _describe_run(runs_dir: Path, since: float) -> None:
    """Print every output file of the runs started since `since` (kfp.local writes <run>/<task>/<output>)."""
    for run in sorted(p for p in runs_dir.iterdir() if p.is_dir() and p.stat().st_mtime >= since):
        print(f"  run folder: {run}")
        for output in sorted(run.rglob("*")):
            if output.is_file() and output.name != "executor_output.json":
                print(f"    {output.relative_to(run)}")
    print(f"  tracking sessions (ClearML, offline unless configured): {settings().tracking_dir}")


def cmd_run(args: argparse.Namespace) -> None:
    if not args.local:
        raise ParameterError(
            "keel run needs --local (runs with kfp.local here); use `keel submit` for Vertex AI"
        )
    import time

    from pipelines import task_errors
    from pipelines.compiling import load

    params = parse_params(args.param, _declared_parameters(load(args.name)))
    started = time.time()
    with task_errors.recording() as printed:
        try:
            task = run_local(args.name, params)
        except RuntimeError as error:
            failure = task_errors.task_failure(error, printed())
            if failure is None:
                raise
            raise failure from None
    print(f"{args.name}: succeeded")
    for key, value in sorted(task.outputs.items()):
        print(f"  {key}: {getattr(value, 'path', value)}")
    _describe_run(settings().runs_dir, started)


def cmd_suite_build(args: argparse.Namespace) -> None:
    from components.common import io
    from components.validate_data import suite_builder

    suite = suite_builder.build_suite(io.read_table(args.data), args.name, args.label, tuple(args.unique))
    output = args.output or f"{args.name}.json"
    io.write_bytes(output, (json.dumps(suite, indent=2) + "\n").encode())
    print(f"wrote {len(suite['expectations'])} expectations to {output}; review them before committing")


def cmd_sample_data(args: argparse.Namespace) -> None:
    from components.common import sample_data

    if args.broken:
        sample_data.write_broken(args.broken, args.output, args.rows, args.seed)
    else:
        sample_data.write(args.output, args.rows, args.seed, label=not args.no_label, drift=args.drifted)
    print(f"wrote {args.output}")


def _vertex():
    """pipelines.vertex, with aiplatform logging only its warnings, to stderr: stdout keeps our
    results (aiplatform prints progress to stdout unless a log handler is already set up)."""
    from pipelines import vertex

    sdk_logs = logging.StreamHandler(sys.stderr)
    sdk_logs.setLevel(logging.WARNING)
    logging.getLogger("google.cloud.aiplatform").addHandler(sdk_logs)
    return vertex


def _connection(args: argparse.Namespace) -> dict[str, Any]:
    return {"api_endpoint": args.api_endpoint, "api_transport": args.api_transport}


def _job_options(args: argparse.Namespace, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "service_account": args.service_account,
        "params": parse_params(args.param, declared_inputs(spec)[0]),
        "enable_caching": args.enable_caching,
        "labels": split_pairs(args.labels, "--labels") or None,
        "display_name": args.display_name,
        **_connection(args),
    }


def _compiled(vertex, args: argparse.Namespace):
    return vertex.compiled(
        args.pipeline, args.image_registry, args.image_tag, _resources(args), _alerts(args)
    )


def cmd_submit(args: argparse.Namespace) -> None:
    vertex = _vertex()
    with _compiled(vertex, args) as (path, spec):
        job = vertex.submit(
            str(path), args.project, args.location, args.pipeline_root, **_job_options(args, spec)
        )
    print(f"submitted {job.resource_name}\n  {vertex.console_url(job.resource_name, args.project)}")


def cmd_schedule(args: argparse.Namespace) -> None:
    vertex = _vertex()
    if args.action == "create":
        with _compiled(vertex, args) as (path, spec):
            found = vertex.schedule(
                str(path),
                args.project,
                args.location,
                args.pipeline_root,
                cron=args.cron,
                timezone=args.timezone,
                max_concurrent_run_count=args.max_concurrent_runs,
                schedule_name=args.name,
                start_time=args.start_time,
                end_time=args.end_time,
                max_run_count=args.max_runs,
                **_job_options(args, spec),
            )
        print(f"created schedule {found.resource_name}\n  {vertex.describe_schedule(found, args.project)}")
    elif args.action == "list":
        found = vertex.list_schedules(args.project, args.location, **_connection(args))
        for one in found:
            print(vertex.describe_schedule(one, args.project))
        if not found:
            print(f"no schedules in {args.project}/{args.location}")
    else:
        found = getattr(vertex, args.action)(args.schedule, args.project, args.location, **_connection(args))
        print(f"{args.action}d schedule {found.resource_name}")


def _registry(args: argparse.Namespace):
    from components.common.registry import open_registry

    return open_registry(args.registry or settings().registry_uri)


def _print_version(found) -> None:
    aliases = f" [{', '.join(sorted(found.aliases))}]" if found.aliases else ""
    if found.damaged:
        print(f"v{found.version}{aliases}  DAMAGED: {found.damaged}")
        return
    metrics = ", ".join(f"{k}={v:.4f}" for k, v in sorted(found.metrics.items()))
    print(f"v{found.version}{aliases}  {found.created_at}  sha256={found.sha256[:12]}  {metrics}")


def _verify(registry, model: str) -> None:
    """Print each version's state; exit 1 when any is damaged."""
    checked = registry.verify(model)
    for found, problem in checked:
        print(
            f"v{found.version}  {'DAMAGED: ' + problem if problem else 'ok (record readable, sha256 matches)'}"
        )
    damaged = [found.version for found, problem in checked if problem]
    if damaged:
        logger.error("%s: %d of %d versions damaged: %s", model, len(damaged), len(checked), damaged)
        sys.exit(1)
    print(f"{model}: all {len(checked)} versions sound")


def cmd_registry(args: argparse.Namespace) -> None:
    registry = _registry(args)
    if args.action == "list":
        for found in registry.versions(args.model):
            _print_version(found)
    elif args.action == "show":
        from components.common import lineage

        found = registry.get(args.model, args.ref)
        shown = {"lineage": lineage.of_version(found), **vars(found), "registry": registry.uri}
        print(json.dumps(shown, indent=2, default=str))
    elif args.action == "promote":
        found = registry.promote(args.model, args.ref)
        print(f"{args.model}: champion is now v{found.version}")
        _print_version(found)
    elif args.action == "rollback":
        found = registry.rollback(args.model)
        print(f"{args.model}: rolled back; champion is now v{found.version}")
        _print_version(found)
    elif args.action == "verify":
        _verify(registry, args.model)


def cmd_monitor(args: argparse.Namespace) -> None:
    from components.check_drift import history
    from components.common import io

    records = history.read(args.output_uri, args.last)
    if not records:
        raise io.DataError(f"{args.output_uri}: no drift records under {history.FOLDER}/ yet")
    print(f"drift of {args.output_uri}, last {len(records)} run(s) (distance; *: drifted)")
    print(history.table(records))
    plot = args.plot or str(settings().home / "monitor" / "trend.html")
    io.write_bytes(plot, history.trend_html(records, f"Drift of {args.output_uri}").encode())
    print(f"trend plot: {plot}")


def build_parser() -> argparse.ArgumentParser:
    from components.common.sample_data import BROKEN_VARIANTS

    parser = argparse.ArgumentParser(prog="keel", description="keel-pipelines: KFP components and pipelines.")
    commands = parser.add_subparsers(dest="command", required=True)

    compile_ = commands.add_parser("compile", help="compile components and pipelines to YAML")
    compile_.add_argument(
        "names", nargs="*", help="names or import paths, module:function (default: every one of this library)"
    )
    compile_.add_argument("--output-dir", default="build", type=Path, help="default: build")
    compile_.add_argument("--image-registry", default=DEFAULT_REGISTRY, help=f"default: {DEFAULT_REGISTRY}")
    compile_.add_argument(
        "--image-tag", default=__version__, help=f"default: the package version ({__version__})"
    )
    _add_resources_option(compile_)
    _add_alert_options(compile_)
    compile_.set_defaults(handler=cmd_compile)

    run = commands.add_parser("run", help="run a pipeline or component")
    run.add_argument("name", help="a pipeline or component name, or an import path module:function")
    run.add_argument(
        "--local", action="store_true", help="run here with kfp.local (outputs under .keel/runs)"
    )
    run.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    run.set_defaults(handler=cmd_run)

    suite = commands.add_parser("suite", help="expectation suites").add_subparsers(
        dest="action", required=True
    )
    build = suite.add_parser("build", help="build a starting suite from a clean reference table")
    build.add_argument("data", help="reference table (parquet or CSV; local, /gcs/ or gs://)")
    build.add_argument("--name", required=True)
    build.add_argument("--label", default="", help="label column: held to the values it has")
    build.add_argument(
        "--unique", action="append", default=[], metavar="COLUMN", help="a column of unique ids"
    )
    build.add_argument("--output", help="default: NAME.json")
    build.set_defaults(handler=cmd_suite_build)

    sample = commands.add_parser("sample-data", help="write the sample churn data set")
    sample.add_argument("output")
    sample.add_argument("--rows", type=int, default=5_000)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--broken", choices=BROKEN_VARIANTS)
    sample.add_argument("--no-label", action="store_true", help="leave the label out, as in data to score")
    sample.add_argument(
        "--drifted",
        action="store_true",
        help="shift monthly_charges and contract_type (for monitoring demos)",
    )
    sample.set_defaults(handler=cmd_sample_data)

    registry = commands.add_parser("registry", help="inspect and move model versions")
    actions = registry.add_subparsers(dest="action", required=True)
    for action, text in [
        ("list", "every version of a model, with aliases and metrics"),
        ("show", "one version (number or alias) in full, its lineage first"),
        ("promote", "make a version the champion (the old one becomes previous)"),
        ("rollback", "move the champion back to the previous version"),
        ("verify", "check every version's record and sha256 (exit code 1 if any is damaged)"),
    ]:
        sub = actions.add_parser(action, help=text)
        sub.add_argument("model")
        if action in ("show", "promote"):
            sub.add_argument(
                "ref",
                help="version number or alias" + (" (default: champion)" if action == "show" else ""),
                nargs="?" if action == "show" else None,
                default="champion",
            )
        sub.add_argument("--registry", help="registry URI (default: KEEL_REGISTRY, else .keel/registry)")
        sub.set_defaults(handler=cmd_registry)
    cli_use_case.add_commands(commands)
    cli_lineage.add_command(commands)
    cli_serve.add_command(commands)

    monitor = commands.add_parser("monitor", help="drift of batch scoring runs over time, with a trend plot")
    monitor.add_argument("output_uri", help="the batch scoring output_uri (local, /gcs/ or gs://)")
    monitor.add_argument("--last", type=int, default=10, metavar="N", help="the last N runs (default: 10)")
    monitor.add_argument(
        "--plot",
        metavar="FILE",
        help="where to write the HTML trend plot (default: <KEEL_HOME>/monitor/trend.html)",
    )
    monitor.set_defaults(handler=cmd_monitor)
    _add_vertex_commands(commands)
    return parser


def _add_alert_options(parser: argparse.ArgumentParser) -> None:
    from components.common.alerts import WEBHOOK_FORMATS
    from components.notify.core import ALERT_ON

    alerts = parser.add_argument_group(
        "alerts", "where a pipeline's alerts go (compiled into it; default: a JSON log line on failure)"
    )
    alerts.add_argument(
        "--alert-webhook", metavar="URL", help="a Slack or Google Chat incoming webhook, or any JSON receiver"
    )
    alerts.add_argument(
        "--alert-webhook-format", choices=WEBHOOK_FORMATS, help="default: auto, by the URL's host"
    )
    alerts.add_argument(
        "--alert-email",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="Vertex AI notification email (repeatable)",
    )
    alerts.add_argument("--alert-on", choices=ALERT_ON, help="default: failure")
    alerts.add_argument(
        "--alert-success-message", metavar="TEXT", help="the text of a success alert (--alert-on always)"
    )


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", required=True, help="Google Cloud project id")
    parser.add_argument("--location", required=True, help="Vertex AI region, e.g. europe-west4")
    parser.add_argument(
        "--api-endpoint",
        metavar="HOST_OR_URL",
        help="a private or regional Vertex AI endpoint (default: LOCATION-aiplatform.googleapis.com)",
    )
    parser.add_argument("--api-transport", choices=TRANSPORTS, default="grpc", help="default: grpc")


def _add_job_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "pipeline",
        help="a pipeline or component name or import path (module:function), compiled first, or a compiled YAML",
    )
    parser.add_argument("--pipeline-root", required=True, metavar="GS_URI", help="where runs write outputs")
    parser.add_argument("--service-account", help="the service account the runs act as")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--no-cache",
        dest="enable_caching",
        action="store_const",
        const=False,
        help="rerun every task (default: the caching compiled into each task)",
    )
    parser.add_argument("--labels", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--display-name", help="default: the pipeline's name")
    parser.add_argument(
        "--image-registry",
        help=f"when compiling by name; Vertex AI cannot pull the default {DEFAULT_REGISTRY}",
    )
    parser.add_argument("--image-tag", help=f"when compiling by name (default: {__version__})")
    _add_resources_option(parser)
    _add_alert_options(parser)
    _add_connection_options(parser)


def _add_resources_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--resources",
        action="append",
        default=[],
        metavar="COMPONENT=SPEC",
        help="a component's tasks' limits, e.g. train_model=cpu=8,memory=32G,accelerator=NVIDIA_L4:1 "
        "(repeatable; defaults: pipelines/steps.py DEFAULT_RESOURCES)",
    )


def _add_vertex_commands(commands) -> None:
    submit = commands.add_parser("submit", help="submit one run to Vertex AI Pipelines")
    _add_job_options(submit)
    submit.set_defaults(handler=cmd_submit)

    actions = commands.add_parser("schedule", help="Vertex AI Pipelines schedules").add_subparsers(
        dest="action", required=True
    )
    create = actions.add_parser("create", help="run a pipeline on a cron schedule")
    _add_job_options(create)
    create.add_argument("--cron", required=True, help='e.g. "0 3 * * *" (UTC unless --timezone)')
    create.add_argument("--timezone", help="IANA time zone of the cron, e.g. Europe/Paris")
    create.add_argument("--max-concurrent-runs", type=int, default=1, help="default: 1")
    create.add_argument("--max-runs", type=int, help="end the schedule after this many runs")
    create.add_argument("--start-time", help="RFC 3339 timestamp of the first possible run")
    create.add_argument("--end-time", help="RFC 3339 timestamp after which no run starts")
    create.add_argument("--name", help="the schedule's display name (default: the run's)")
    listing = actions.add_parser("list", help="every schedule in the project and location")
    _add_connection_options(listing)
    for action, text in [
        ("pause", "stop starting runs until resumed"),
        ("resume", "start runs again"),
        ("delete", "delete a schedule (runs it started are kept)"),
    ]:
        sub = actions.add_parser(action, help=text)
        sub.add_argument("schedule", help="its id (as `keel schedule list` shows) or resource name")
        _add_connection_options(sub)
    for sub in actions.choices.values():
        sub.set_defaults(handler=cmd_schedule)


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        settings()  # a bad KEEL_* setting is reported as any other error, whether the command reads it or not
        args.handler(args)
    except (KeelError, LookupError, ValueError, RuntimeError, OSError) as error:
        logger.error("%s", error)
        sys.exit(1)
