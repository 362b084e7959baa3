"""`keel serve`: online predictions from the model batch scoring uses (see serving/).

keel serve MODEL [--registry URI] [--host H] [--port P] [--poll-seconds S]
keel serve --model-dir FOLDER [--model-name N] [--model-version V] [--host H] [--port P]

Vertex AI's custom-container contract is followed: the port comes from AIP_HTTP_PORT (else PORT, as
Cloud Run sets it, else 8080), the routes from AIP_PREDICT_ROUTE and AIP_HEALTH_ROUTE (/predict and
/health), and the model folder from AIP_STORAGE_URI when no MODEL is given.
"""

from __future__ import annotations

import argparse
import logging
import os

from components.common.errors import KeelError


class ServeError(KeelError, ValueError):
    """`keel serve` was told to serve nothing, or two things."""


def add_command(commands) -> None:
    serve = commands.add_parser("serve", help="serve online predictions over HTTP (FastAPI)")
    serve.add_argument("model", nargs="?", help="the registered model to serve: its champion, hot-swapped")
    serve.add_argument("--registry", help="registry URI (default: KEEL_REGISTRY, else .keel/registry)")
    serve.add_argument("--model-dir", help="serve this model folder instead (default: AIP_STORAGE_URI)")
    serve.add_argument("--model-name", default="", help="with --model-dir: the name in responses")
    serve.add_argument(
        "--model-version", type=int, default=0, help="with --model-dir: the version in responses"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 in a container)")
    serve.add_argument("--port", type=int, help="default: AIP_HTTP_PORT, else PORT, else 8080")
    serve.add_argument(
        "--poll-seconds", type=float, default=30.0, help="how often the champion is checked (0: never)"
    )
    serve.set_defaults(handler=cmd_serve)


def watcher_for(args: argparse.Namespace):
    """The ModelWatcher of what the arguments (or AIP_STORAGE_URI) name."""
    from components.common.config import settings
    from components.common.registry import CHAMPION, open_registry
    from serving import models

    folder = args.model_dir or ("" if args.model else os.environ.get("AIP_STORAGE_URI", ""))
    if bool(folder) == bool(args.model):
        raise ServeError(
            "keel serve: give a registered MODEL (its champion is served) or a model folder "
            f"(--model-dir or AIP_STORAGE_URI), not {'both' if folder else 'neither'}"
        )
    if folder:
        return models.ModelWatcher(
            lambda _: models.from_folder(folder, args.model_name, args.model_version),
            poll_seconds=args.poll_seconds,
        )
    registry = open_registry(args.registry or settings().registry_uri)
    return models.ModelWatcher(
        lambda version: models.from_registry(registry, args.model, version),
        lambda: registry.aliases(args.model).get(CHAMPION),
        args.poll_seconds,
    )


def _uvicorn_logs_like_ours() -> None:
    """uvicorn's own lines (start, shutdown, errors) in the keel format: JSON on Vertex AI."""
    from components.common.logging import logger

    server_logger = logging.getLogger("uvicorn")
    server_logger.handlers, server_logger.propagate = list(logger.handlers), False
    server_logger.setLevel(logging.INFO)


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from serving.app import create_app

    app = create_app(
        watcher_for(args),
        os.environ.get("AIP_PREDICT_ROUTE", "/predict"),
        os.environ.get("AIP_HEALTH_ROUTE", "/health"),
    )
    port = args.port or int(os.environ.get("AIP_HTTP_PORT") or os.environ.get("PORT") or 8080)
    _uvicorn_logs_like_ours()
    uvicorn.run(
        app, host=args.host, port=port, access_log=False, log_config=None, timeout_graceful_shutdown=30
    )
