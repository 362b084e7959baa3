"""Experiment tracking with ClearML that never fails or stalls a run.

    from components.common.tracking import track
    with track("train_model", params={"seed": 7}) as run:
        run.log_metrics({"roc_auc": 0.91})
        run.log_artifact("report", "report.html")

Offline by default: each run is a ClearML offline session zipped under `KEEL_TRACKING_DIR`
(import it into a server later with `Task.import_offline_session(zip)`). Online when ClearML
credentials are configured (clearml.conf or CLEARML_API_ACCESS_KEY/CLEARML_API_SECRET_KEY): the server is probed first for at most
`KEEL_TRACKING_TIMEOUT` seconds and, if it does not answer, the run goes on offline with a warning.
`KEEL_TRACKING=off` turns tracking off. Any tracking error is logged as a warning, never raised.
"""

from __future__ import annotations

import contextlib
import functools
import os
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from components.common.config import settings
from components.common.logging import logger

# ClearML's automatic hooks stay off: components report what matters explicitly, and repository
# detection would also start ClearML's update check (a call to the internet).
_NO_AUTOMAGIC = dict.fromkeys(
    [
        "catboost",
        "fastai",
        "gradio",
        "hydra",
        "joblib",
        "lightgbm",
        "matplotlib",
        "megengine",
        "pytorch",
        "scikit",
        "tensorboard",
        "tensorflow",
        "tfdefines",
        "xgboost",
        "detect_repository",
    ],
    False,
)


def _tolerant(method):
    """Run a tracking call; on any error, warn and disable tracking for this run instead of raising."""

    @functools.wraps(method)
    def wrapper(self: Run, *args, **kwargs):
        if self._task is None:
            return None
        try:
            return method(self, *args, **kwargs)
        except Exception as error:  # noqa: BLE001 - tracking must never fail a run
            logger.warning(
                "tracking: %s failed (%s); tracking is off for the rest of this run", method.__name__, error
            )
            self._task = None
            return None

    return wrapper


class Run:
    """One tracked run. `mode` is `online`, `offline` or `off`; `id` is the ClearML task id."""

    def __init__(self, task: Any, mode: str, session_dir: Path | None) -> None:
        self._task = task
        self.mode = mode
        self.id = task.id if task is not None else ""
        self.session_dir = session_dir

    @property
    def session_zip(self) -> Path | None:
        """The offline session archive, once the run is closed."""
        return self.session_dir.with_suffix(".zip") if self.session_dir else None

    @_tolerant
    def log_params(self, params: Mapping[str, Any], section: str = "params") -> None:
        self._task.connect(dict(params), name=section)

    @_tolerant
    def log_metrics(self, metrics: Mapping[str, float], step: int = 0, title: str = "metrics") -> None:
        reporter = self._task.get_logger()
        for name, value in metrics.items():
            reporter.report_scalar(title=title, series=name, value=float(value), iteration=step)

    def report_metrics(self, metrics: Mapping[str, float], kfp_metrics: Any) -> None:
        """Record `metrics` in a KFP Metrics artifact (shown in the Vertex console) and in this run."""
        for name, value in metrics.items():
            kfp_metrics.log_metric(name, value)
        self.log_metrics(metrics)

    @_tolerant
    def log_artifact(self, name: str, artifact: str | Path | Mapping | Any) -> None:
        """Attach a file (path) or a small object (dict, DataFrame) to the run."""
        artifact = Path(artifact) if isinstance(artifact, str) else artifact
        self._task.upload_artifact(name, artifact_object=artifact, wait_on_upload=True)

    @_tolerant
    def log_model(
        self, path: str | Path, name: str, framework: str = "", metadata: Mapping[str, Any] = ()
    ) -> None:
        from clearml import OutputModel

        model = OutputModel(
            task=self._task, name=name, framework=framework or None, config_dict=dict(metadata)
        )
        if self.mode == "offline":
            # An offline base model stays locked and refuses new weights until unlocked.
            model._get_base_model().locked = False
        model.update_weights(weights_filename=str(path), auto_delete_file=False)

    @_tolerant
    def set_tags(self, *tags: str) -> None:
        self._task.add_tags([tag for tag in tags if tag])

    @_tolerant
    def close(self) -> None:
        self._task.close()
        self._task = None


def _credentials_configured() -> bool:
    if os.environ.get("CLEARML_API_ACCESS_KEY") and os.environ.get("CLEARML_API_SECRET_KEY"):
        return True
    from clearml.config import ConfigWrapper

    return bool(ConfigWrapper.get("api.credentials.access_key", None))


def _api_server() -> str:
    from clearml.config import ConfigWrapper

    return os.environ.get("CLEARML_API_HOST") or ConfigWrapper.get("api.api_server", "")


def _server_answers(url: str, timeout_s: float) -> bool:
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/debug.ping", timeout=timeout_s):
            return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable now"
        return False


def _choose_mode() -> str:
    config = settings()
    if config.tracking_mode != "auto":
        return config.tracking_mode
    if not _credentials_configured():
        return "offline"
    server = _api_server()
    if server and _server_answers(server, config.tracking_timeout_s):
        return "online"
    logger.warning(
        "tracking: ClearML server %s did not answer within %.1f s; tracking offline under %s",
        server or "(none configured)",
        config.tracking_timeout_s,
        config.tracking_dir,
    )
    return "offline"


def _forget_parent_task() -> None:
    """Start a run of this process's own, even when a parent process tracked a run: ClearML marks its
    children through CLEARML_PROC_MASTER_ID (and its old name) and hands them a do-nothing stub instead of a task."""
    for name in ("CLEARML_PROC_MASTER_ID", "TRAINS_PROC_MASTER_ID"):
        master = os.environ.get(name, "")
        if master and master.split(":")[0] != str(os.getpid()):
            del os.environ[name]


def start_run(name: str, params: Mapping[str, Any] | None = None, tags: tuple[str, ...] = ()) -> Run:
    """Start a tracked run named `name` (use `track` to have it closed for you)."""
    try:
        mode = _choose_mode()
        if mode == "off":
            return Run(None, "off", None)
        from clearml import Task
        from clearml.config import ConfigWrapper

        config = settings()
        _forget_parent_task()
        ConfigWrapper.set_overrides(
            {
                "sdk": {
                    # Reporting in-process keeps close() to milliseconds instead of ~10 s.
                    "development": {"report_use_subprocess": False, "suppress_update_message": True},
                    "storage": {"cache": {"default_base_dir": str(config.tracking_dir)}},
                }
            }
        )
        Task.set_offline(mode == "offline")
        task = Task.init(
            project_name=config.tracking_project,
            task_name=name,
            tags=list(tags) or None,
            reuse_last_task_id=False,
            auto_connect_frameworks=_NO_AUTOMAGIC,
            auto_connect_arg_parser=False,
            auto_connect_streams=False,
            auto_resource_monitoring=False,
        )
        session_dir = Path(task.get_offline_mode_folder()) if mode == "offline" else None
        run = Run(task, mode, session_dir)
    except Exception as error:  # noqa: BLE001 - tracking must never fail a run
        logger.warning("tracking: could not start (%s); this run is not tracked", error)
        return Run(None, "off", None)
    if params:
        run.log_params(params)
    return run


@contextlib.contextmanager
def track(name: str, params: Mapping[str, Any] | None = None, tags: tuple[str, ...] = ()) -> Iterator[Run]:
    """A tracked run that is closed (and its offline session zipped) when the block ends."""
    run = start_run(name, params, tags)
    try:
        yield run
    finally:
        run.close()
        if run.session_zip:
            logger.info("tracking: offline session %s", run.session_zip)
