"""{{ cookiecutter.package }}: training and batch scoring, composed from keel-pipelines' own pipelines.

Every setting comes from keel.toml and is passed explicitly (nothing relies on a library default).
The parameters say where a run reads and writes: their defaults are keel.toml's [local] paths, and
`make submit`/`make schedule` pass its [vertex] ones.

    keel run {{ cookiecutter.package }}.pipelines:training --local        (or `make run`)
    keel compile {{ cookiecutter.package }}.pipelines:training            (or `make compile`)
"""

from pathlib import Path

from kfp import dsl
from pipelines.batch_scoring import batch_scoring as keel_batch_scoring
from pipelines.training import training as keel_training
from pipelines.use_case import load_config

CONFIG = load_config(Path(__file__).resolve().parents[1] / "keel.toml")
USE_CASE, MODEL, SCORING, LOCAL = CONFIG.use_case, CONFIG.model, CONFIG.scoring, CONFIG.local


@dsl.pipeline(
    name="{{ cookiecutter.pipeline_prefix }}-training",
    description="{{ cookiecutter.package }}: validate, split, train, evaluate against the champion, select, register.",
)
def training(
    data_uri: str = LOCAL.training_data,
    registry_uri: str = LOCAL.registry,
    suite_uri: str = LOCAL.suite,
):
    # ---- Your steps before training ------------------------------------------------------------
    # Add tasks here, e.g. a component made with `keel new component NAME`:
    #     from {{ cookiecutter.package }}.components import NAME
    # A step whose result training should read writes it to a URI and returns that URI (a `str`
    # output), to pass as data_uri below. Steps that only need to run first: `.after(task)`.
    # ---------------------------------------------------------------------------------------------
    keel_training(
        data_uri=data_uri,
        label=USE_CASE.label,
        model_name=USE_CASE.model_name,
        registry_uri=registry_uri,
        suite_uri=suite_uri,
        estimator=MODEL.estimator,
        hyperparameters=MODEL.hyperparameters,
        train_function=MODEL.train_function,
        id_columns=USE_CASE.id_columns,
        split_key=USE_CASE.split_key,
        thresholds=CONFIG.thresholds,
        test_fraction=MODEL.test_fraction,
        seed=MODEL.seed,
    )
    # ---- Your steps after training: name the task above (`trained = keel_training(...)`) and ----
    # ---- make them wait for it with `.after(trained)` --------------------------------------------


@dsl.pipeline(
    name="{{ cookiecutter.pipeline_prefix }}-batch-scoring",
    description="{{ cookiecutter.package }}: score a table with the champion, with fallback; publish by run date.",
)
def batch_scoring(
    data_uri: str = LOCAL.scoring_data,
    output_uri: str = LOCAL.predictions,
    registry_uri: str = LOCAL.registry,
    suite_uri: str = LOCAL.suite,
    run_date: str = "",
):
    # ---- Your steps before scoring (see training above) -----------------------------------------
    keel_batch_scoring(
        data_uri=data_uri,
        output_uri=output_uri,
        model_name=USE_CASE.model_name,
        registry_uri=registry_uri,
        suite_uri=suite_uri,
        skip_columns=USE_CASE.skip_columns,
        id_columns=USE_CASE.id_columns,
        run_date=run_date,
        rows_per_shard=SCORING.rows_per_shard,
        max_shards=SCORING.max_shards,
        min_score_std=SCORING.min_score_std,
    )
    # ---- Your steps after scoring: `scored = keel_batch_scoring(...)`, then `.after(scored)` -----
