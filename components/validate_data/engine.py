"""Great Expectations as the engine: measure a suite's metrics on one batch, judge combined metrics.

Great Expectations validates an expectation in two steps: it resolves the metrics the expectation
depends on (`get_validation_dependencies`), then decides from them (`metrics_validate`). `measure`
runs the first step on one pandas batch; `judge` runs the second on metrics combined over every
batch (see `partial.py`), so the verdict, `mostly` and the result format stay Great Expectations'.
Great Expectations is imported only here, when a validation runs.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pandas as pd

from components.common.io import DataError

RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 20}

# What one expectation measured on a batch: {metric name: value}, or why it could not be measured.
Measured = dict[str, Any] | str


_ENGINES: dict[str, Engine] = {}


def engine_for(suite: dict[str, Any]) -> Engine:
    """The Engine of `suite`, made once per process (a context and its plans are reused)."""
    key = json.dumps(suite, sort_keys=True, default=str)
    if key not in _ENGINES:
        _ENGINES.clear()
        _ENGINES[key] = Engine(suite)
    return _ENGINES[key]


class Engine:
    """An ephemeral, offline Great Expectations context holding one suite."""

    def __init__(self, suite: dict[str, Any]) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )
        from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

        logging.getLogger("great_expectations").setLevel(logging.WARNING)
        context = gx.get_context(
            mode="ephemeral",
            project_config=DataContextConfig(
                store_backend_defaults=InMemoryStoreBackendDefaults(),
                analytics_enabled=False,
                progress_bars=ProgressBarsConfig(globally=False),
            ),
        )
        self.batches = (
            context.data_sources.add_pandas("keel")
            .add_dataframe_asset("table")
            .add_batch_definition_whole_dataframe("whole")
        )
        self.name = suite.get("name", "suite")
        self.configs = []
        for number, spec in enumerate(suite["expectations"], start=1):
            try:
                config = ExpectationConfiguration(**spec)
                config.to_domain_obj()
            except Exception as error:
                raise DataError(
                    f"suite '{self.name}': invalid expectation #{number} {spec.get('type')!r} ({error})"
                ) from None
            self.configs.append(config)
        self._plans: dict[tuple, list[dict[str, Any] | str]] = {}
        self._validator_ = None

    def _validator(self, frame: pd.DataFrame):
        """The validator, its batch replaced by `frame`. Great Expectations' metric cache is keyed by
        batch id, the same for every batch here, so it is off."""
        if self._validator_ is None:
            from great_expectations.execution_engine.execution_engine import NoOpDict
            from great_expectations.validator.validator import Validator

            batch = self.batches.get_batch(batch_parameters={"dataframe": frame.iloc[:0]})
            engine = batch.data.execution_engine
            engine._caching, engine._metric_cache = False, NoOpDict()
            self._validator_ = Validator(execution_engine=engine, batches=[batch])
            self._validator_._metrics_calculator.show_progress_bars = False
        self._validator_._execution_engine.load_batch_data(self._validator_.active_batch_id, frame)
        return self._validator_

    def _expectations(self, validator) -> list[Any]:
        expectations = []
        for config in self.configs:
            bound = copy.deepcopy(config)
            bound.kwargs["batch_id"] = validator.active_batch_id
            expectations.append(bound.to_domain_obj())
        return expectations

    def _plan(self, frame: pd.DataFrame, validator) -> list[dict[str, Any] | str]:
        """Per expectation, {metric name: MetricConfiguration} it depends on, or why it cannot run.
        The dependencies change only with the columns and their dtypes: planned once per schema."""
        key = tuple((str(name), str(dtype)) for name, dtype in frame.dtypes.items())
        if key not in self._plans:
            plans = []
            calculator = validator._metrics_calculator
            for expectation in self._expectations(validator):
                try:
                    dependencies = expectation.get_validation_dependencies(
                        execution_engine=validator._execution_engine, runtime_configuration=RESULT_FORMAT
                    )
                    configurations = dependencies.get_metric_configurations()
                    calculator.build_metric_dependency_graph(configurations, RESULT_FORMAT)
                    plans.append({c.metric_name: c for c in configurations})
                except Exception as error:
                    plans.append(str(error) or type(error).__name__)
            self._plans[key] = plans
        return self._plans[key]

    def metric_names(self, frame: pd.DataFrame) -> list[set[str] | str]:
        """Per expectation, the names of the metrics it needs on a frame like `frame`, or an error."""
        plans = self._plan(frame, self._validator(frame.iloc[:0]))
        return [set(plan) if isinstance(plan, dict) else plan for plan in plans]

    def measure(self, frame: pd.DataFrame, which: set[int]) -> dict[int, Measured]:
        """The metrics of expectations `which` (indexes in the suite) on one batch."""
        validator = self._validator(frame)
        plans = self._plan(frame, validator)
        wanted = [c for i in which if isinstance(plans[i], dict) for c in plans[i].values()]
        calculator = validator._metrics_calculator
        resolved, aborted = calculator.resolve_validation_graph(
            calculator.build_metric_dependency_graph(wanted, RESULT_FORMAT), RESULT_FORMAT
        )
        measured: dict[int, Measured] = {}
        for index in sorted(which):
            plan = plans[index]
            if isinstance(plan, str):
                measured[index] = plan
                continue
            missing = [c for c in plan.values() if c.id not in resolved]
            if missing:
                measured[index] = _reason(missing[0], aborted)
            else:
                measured[index] = {name: resolved[c.id] for name, c in plan.items()}
        return measured

    def judge(self, schema: pd.DataFrame, measured: dict[int, Measured]) -> dict[int, dict[str, Any]]:
        """Great Expectations' result (JSON dict) of each expectation in `measured`, decided from the
        given metrics. `schema` is an empty frame with the table's columns and dtypes."""
        validator = self._validator(schema)
        plans = self._plan(schema, validator)
        expectations = self._expectations(validator)
        results = {}
        for index, metrics in measured.items():
            plan = plans[index]
            if isinstance(metrics, dict) and isinstance(plan, dict) and set(plan) <= set(metrics):
                try:
                    result = expectations[index].metrics_validate(
                        metrics={c.id: metrics[name] for name, c in plan.items()},
                        runtime_configuration=dict(RESULT_FORMAT),
                        execution_engine=validator._execution_engine,
                    )
                    results[index] = result.to_json_dict()
                    continue
                except Exception as error:
                    metrics = str(error) or type(error).__name__
            if isinstance(metrics, dict):
                metrics = plan if isinstance(plan, str) else "its metrics differ between batches"
            results[index] = self.error_result(index, metrics)
        return results

    def error_result(self, index: int, message: str) -> dict[str, Any]:
        """A failed result, in Great Expectations' shape, for an expectation that could not be evaluated."""
        return {
            "success": False,
            "expectation_config": self.configs[index].to_json_dict(),
            "result": {},
            "meta": {},
            "exception_info": {
                "raised_exception": True,
                "exception_message": message,
                "exception_traceback": None,
            },
        }


def _reason(missing, aborted: dict) -> str:
    """Why a metric was not computed: the error of the aborted metric it depends on (same domain)."""
    for metric_id, info in aborted.items():
        if metric_id == missing.id or metric_id.metric_domain_kwargs_id == missing.id.metric_domain_kwargs_id:
            message = getattr(info.get("exception_info"), "exception_message", "") or ""
            if message.strip():
                return message.strip().splitlines()[0]
    return f"metric {missing.metric_name} could not be computed"
