"""One ClearML task opened with keel's settings, and the few things keel records in it.

`ClearMLTask.open(..., offline=True)` is the offline session every tracked run keeps in-process;
`offline=False` is the task on a ClearML server, opened only in the online mirror process
(`components/common/tracking_mirror.py`), where a server that hangs can be abandoned.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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

# A failing call to the server fails after about a second instead of ClearML's 240 retries; the
# mirror's caller bounds the rest (ClearML itself retries some failures forever).
_FEW_RETRIES = {
    "http": {
        "retries": dict.fromkeys(("total", "connect", "read", "redirect", "status"), 2)
        | {"backoff_factor": 0.25, "backoff_max": 1.0},
        "wait_on_maintenance_forever": False,
    }
}

# ClearML marks the processes a tracked process starts, and hands them a do-nothing stub instead of
# a task of their own; it keeps its offline switch in the environment too.
PARENT_TASK_MARKS = ("CLEARML_PROC_MASTER_ID", "TRAINS_PROC_MASTER_ID")
OFFLINE_SWITCHES = ("CLEARML_OFFLINE_MODE", "TRAINS_OFFLINE_MODE")


def forget_parent_task() -> None:
    """Start a task of this process's own, even when a parent process tracked one."""
    for name in PARENT_TASK_MARKS:
        master = os.environ.get(name, "")
        if master and master.split(":")[0] != str(os.getpid()):
            del os.environ[name]


class ClearMLTask:
    """A ClearML task; `id` is its ClearML id (`offline-...` for an offline session)."""

    def __init__(self, task: Any, offline: bool) -> None:
        self._task = task
        self.offline = offline
        self.id: str = task.id

    @classmethod
    def open(
        cls, name: str, project: str, tags: tuple[str, ...], offline: bool, cache_dir: str
    ) -> ClearMLTask:
        from clearml import Task
        from clearml.config import ConfigWrapper

        forget_parent_task()
        ConfigWrapper.set_overrides(
            {
                "sdk": {
                    # Reporting in-process keeps close() to milliseconds instead of ~10 s.
                    "development": {"report_use_subprocess": False, "suppress_update_message": True},
                    "storage": {"cache": {"default_base_dir": cache_dir}},
                },
                **({} if offline else {"api": _FEW_RETRIES}),
            }
        )
        Task.set_offline(offline)
        task = Task.init(
            project_name=project,
            task_name=name,
            tags=list(tags) or None,
            reuse_last_task_id=False,
            output_uri=None if offline else True,  # models go to the server's files server
            auto_connect_frameworks=_NO_AUTOMAGIC,
            auto_connect_arg_parser=False,
            auto_connect_streams=False,
            auto_resource_monitoring=False,
        )
        return cls(task, offline)

    @property
    def offline_folder(self) -> Path | None:
        """The offline session's folder (zipped beside it on close); None online."""
        return Path(self._task.get_offline_mode_folder()) if self.offline else None

    def log_params(self, params: Mapping[str, Any], section: str = "params") -> None:
        self._task.connect(dict(params), name=section)

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0, title: str = "metrics") -> None:
        reporter = self._task.get_logger()
        for name, value in metrics.items():
            reporter.report_scalar(title=title, series=name, value=float(value), iteration=step)

    def log_artifact(self, name: str, artifact: str | Path | Mapping | Any) -> None:
        artifact = Path(artifact) if isinstance(artifact, str) else artifact
        self._task.upload_artifact(name, artifact_object=artifact, wait_on_upload=True)

    def log_model(
        self, path: str | Path, name: str, framework: str = "", metadata: Mapping[str, Any] = ()
    ) -> None:
        from clearml import OutputModel

        model = OutputModel(
            task=self._task, name=name, framework=framework or None, config_dict=dict(metadata)
        )
        if self.offline:
            # An offline base model stays locked and refuses new weights until unlocked.
            model._get_base_model().locked = False
        model.update_weights(weights_filename=str(path), auto_delete_file=False)

    def set_tags(self, *tags: str) -> None:
        self._task.add_tags([tag for tag in tags if tag])

    def close(self) -> None:
        self._task.close()
