"""`keel serve` on loopback, with real models, a real local registry and a real HTTP client."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import uvicorn

from components.batch_predict.core import ScoringRun, score_table
from components.common import io
from components.common.registry import open_registry
from serving import models
from serving.app import create_app
from tests.builders import records, to_score

KEEL = str(Path(sys.executable).parent / "keel")
FEATURES = [
    "age",
    "tenure_months",
    "monthly_charges",
    "support_calls",
    "contract_type",
    "payment_method",
    "region",
]


@pytest.fixture
def registry(tmp_path: Path, profiled_model: str):
    """A local registry where `churn` v1 is the previous champion and v2 (the same model) the champion."""
    found = open_registry(str(tmp_path / "registry"))
    for _ in range(2):
        found.promote("churn", found.register("churn", profiled_model).version)
    return found


def _watcher(registry, poll_seconds: float = 0.1) -> models.ModelWatcher:
    from components.common.registry import CHAMPION

    return models.ModelWatcher(
        lambda version: models.from_registry(registry, "churn", version),
        lambda: registry.aliases("churn").get(CHAMPION),
        poll_seconds,
    )


@contextmanager
def serving(watcher: models.ModelWatcher, **routes):
    """The app on a free loopback port, in this process; yields its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(create_app(watcher, **routes), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _wait_healthy(client: httpx.Client, url: str, route: str = "/health") -> dict:
    deadline = time.monotonic() + 60
    while (response := client.get(url + route)).status_code != 200:
        assert time.monotonic() < deadline, response.text
        time.sleep(0.05)
    return response.json()


def test_online_predictions_equal_batch_predictions_for_the_same_rows(registry, tmp_path: Path):
    rows = to_score(300, seed=3).drop(columns=["snapshot_time"])
    rows.loc[5, "monthly_charges"] = np.nan  # a missing value is handled as in batch scoring
    table = str(tmp_path / "to_score.parquet")
    io.write_table(rows, table)
    model, metadata = registry.load("churn", 2)
    run = ScoringRun("churn", 2, "batch", ("customer_id",))
    score_table(model, metadata, table, str(tmp_path / "scored.parquet"), run)
    batch = io.read_table(str(tmp_path / "scored.parquet"))

    with serving(_watcher(registry)) as url, httpx.Client() as client:
        _wait_healthy(client, url)
        online = []
        for start in range(0, len(rows), 100):  # rows as objects, with a column the model does not use
            response = client.post(url + "/predict", json={"instances": records(rows[start : start + 100])})
            assert response.status_code == 200, response.text
            assert (response.json()["model_name"], response.json()["model_version"]) == ("churn", 2)
            online += response.json()["predictions"]
        as_lists = rows[FEATURES].head(20).astype(object).where(rows[FEATURES].head(20).notna(), None)
        listed = client.post(url + "/predict", json={"instances": as_lists.values.tolist()}).json()

    assert [p["prediction"] for p in online] == batch["prediction"].tolist()
    assert [p["score"] for p in online] == batch["score"].tolist()  # exactly the same numbers
    assert listed["predictions"] == online[:20]


def test_a_corrupted_champion_is_not_served_the_earlier_champion_is_and_health_says_so(registry):
    champion = Path(registry.get("churn", "champion").uri) / "model.joblib"
    champion.write_bytes(champion.read_bytes() + b"tampered")

    with serving(_watcher(registry)) as url, httpx.Client() as client:
        health = _wait_healthy(client, url)
        answer = client.post(url + "/predict", json={"instances": records(to_score(3, seed=1))})

    assert health["model_version"] == 1 and health["fell_back"]
    assert [(c["ref"], c["version"], c["usable"]) for c in health["checks"]] == [
        ("champion", 2, False),
        ("previous", 1, True),
    ]
    assert "sha256" in health["checks"][0]["reason"]
    assert answer.status_code == 200 and answer.json()["model_version"] == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"rows": []}, '{"instances": [row, ...]}'),
        ({"instances": []}, "non-empty list"),
        ({"instances": [{"age": 40}]}, "instances[0]: feature 'tenure_months' is missing"),
        ({"instances": [[1, 2, 3]]}, "instances[0]: 3 values, but the model takes 7 features"),
        ({"instances": ["a row"]}, "instances[0]: a row must be an object"),
    ],
)
def test_bad_payloads_get_400_naming_the_row_and_field(registry, body, message):
    with serving(_watcher(registry)) as url, httpx.Client() as client:
        _wait_healthy(client, url)
        response = client.post(url + "/predict", json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_bad_values_get_400_naming_the_row_field_and_rule(registry):
    good = records(to_score(2, seed=1))
    cases = {
        "age": ("forty", "instances[1].age: 'forty' is not a finite number (a numeric feature)"),
        "region": (3, "instances[1].region: 3 is not a string (a categorical feature)"),
        "support_calls": (True, "instances[1].support_calls: True is not a finite number"),
        "tenure_months": (2**70, f"instances[1].tenure_months: {2**70} is not a finite number"),
    }
    with serving(_watcher(registry)) as url, httpx.Client() as client:
        _wait_healthy(client, url)
        not_json = client.post(
            url + "/predict", content=b"{not json", headers={"content-type": "application/json"}
        )
        answers = {
            field: client.post(url + "/predict", json={"instances": [good[0], {**good[1], field: value}]})
            for field, (value, _) in cases.items()
        }
    assert not_json.status_code == 400 and "not JSON" in not_json.json()["error"]
    for field, (_, message) in cases.items():
        assert answers[field].status_code == 400, field
        assert message in answers[field].json()["error"]


class _FailsOnOldCustomers:
    """A user's model that raises on some rows (e.g. a lookup it cannot do)."""

    classes_ = np.array([0, 1])

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        if (frame["age"] > 90).any():
            raise KeyError("no tariff for ages over 90")
        return np.tile([0.25, 0.75], (len(frame), 1))


def test_a_model_that_fails_on_a_request_gets_500_and_only_that_request_fails(registry):
    metadata = registry.load("churn", 1)[1]
    failing = models.ServedModel("churn", 7, _FailsOnOldCustomers(), metadata, "test", [])
    watcher = models.ModelWatcher(lambda _: failing)
    rows = records(to_score(4, seed=2))
    with serving(watcher) as url, httpx.Client() as client:
        _wait_healthy(client, url)
        bad = {"instances": [{**rows[0], "age": 95}]}
        sent = [bad if i % 4 == 0 else {"instances": rows} for i in range(40)]
        with httpx.Client() as other:
            results = list(_concurrently(lambda body: other.post(url + "/predict", json=body), sent))
    statuses = [r.status_code for r in results]
    assert statuses == [500 if i % 4 == 0 else 200 for i in range(40)]  # batched together, failed alone
    assert results[0].json()["error"] == "model churn v7 failed: KeyError: 'no tariff for ages over 90'"
    assert results[1].json()["predictions"] == [{"prediction": 1, "score": 0.75}] * 4


def _concurrently(call, items, workers: int = 16):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(call, items))


def test_a_champion_change_under_load_loses_no_request_and_a_broken_champion_is_refused(
    registry, profiled_model
):
    registry.rollback("churn")  # champion v1, so that promoting v2 is a change
    broken = registry.register("churn", profiled_model).version  # v3, damaged after registration
    (Path(registry.get("churn", broken).uri) / "model.joblib").write_bytes(b"not a model")
    body = {"instances": records(to_score(5, seed=4))}
    with serving(_watcher(registry, poll_seconds=0.05)) as url, httpx.Client() as client:
        assert _wait_healthy(client, url)["model_version"] == 1
        answers: list[httpx.Response] = []
        stop = threading.Event()

        def load() -> None:
            with httpx.Client() as own:
                while not stop.is_set():
                    answers.append(own.post(url + "/predict", json=body))

        senders = [threading.Thread(target=load) for _ in range(8)]
        for sender in senders:
            sender.start()
        time.sleep(0.5)
        registry.promote("churn", 2)
        while not answers or answers[-1].json().get("model_version") != 2:
            time.sleep(0.05)
        time.sleep(0.3)
        registry.promote("churn", broken)
        time.sleep(0.5)
        stop.set()
        for sender in senders:
            sender.join()
        health = client.get(url + "/health").json()

    versions = [answer.json()["model_version"] for answer in answers]
    assert all(answer.status_code == 200 for answer in answers), {a.status_code for a in answers}
    assert len(answers) > 50 and versions[0] == 1 and versions[-1] == 2 and set(versions) == {1, 2}
    assert health["model_version"] == 2
    assert [r["version"] for r in health["refused"]] == [broken]
    assert "sha256" in health["refused"][0]["reason"]


def test_health_is_503_until_a_model_passed_then_the_first_champion_is_served(tmp_path: Path, profiled_model):
    registry = open_registry(str(tmp_path / "registry"))
    with serving(_watcher(registry)) as url, httpx.Client() as client:
        health = client.get(url + "/health")
        early = client.post(url + "/predict", json={"instances": [[1] * 7]})
        registry.promote("churn", registry.register("churn", profiled_model).version)
        served = _wait_healthy(client, url)
    assert health.status_code == 503 and "churn" in health.json()["problem"]
    assert early.status_code == 503 and "no model is served yet" in early.json()["error"]
    assert served["model_version"] == 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_keel_serve_follows_the_vertex_container_contract_and_shuts_down_gracefully(profiled_model, tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "AIP_HTTP_PORT": str(port),
        "AIP_PREDICT_ROUTE": "/v1/models/churn:predict",
        "AIP_HEALTH_ROUTE": "/v1/models/churn",
        "AIP_STORAGE_URI": profiled_model,
        "KEEL_LOG_FORMAT": "json",
    }
    server = subprocess.Popen(
        [KEEL, "serve", "--model-name", "churn", "--model-version", "4"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        with httpx.Client() as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    health = _wait_healthy(client, url, "/v1/models/churn")
                    break
                except httpx.ConnectError:
                    assert time.monotonic() < deadline and server.poll() is None
                    time.sleep(0.1)
            answer = client.post(
                url + "/v1/models/churn:predict", json={"instances": records(to_score(2, seed=5))}
            )
    finally:
        server.send_signal(signal.SIGTERM)
        _, log = server.communicate(timeout=30)
    assert health["source"] == profiled_model and health["model_version"] == 4
    assert answer.status_code == 200 and answer.json()["model_name"] == "churn"
    assert server.returncode in (0, -signal.SIGTERM), log  # uvicorn re-raises the signal once shut down
    lines = [json.loads(line) for line in log.splitlines()]  # every line JSON, uvicorn's too
    assert "Application shutdown complete." in [line["message"] for line in lines]
    requests = [line for line in lines if line.get("logger") == "keel.requests"]
    assert len(requests) == 1
    assert requests[0]["status"] == 200 and requests[0]["rows"] == 2 and requests[0]["model_version"] == 4
    assert "instances" not in json.dumps(requests[0])  # no request body in the log


def test_keel_serve_refuses_to_serve_both_a_registry_model_and_a_folder(profiled_model):
    result = subprocess.run(
        [KEEL, "serve", "churn", "--model-dir", profiled_model],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "give a registered MODEL" in result.stderr and "not both" in result.stderr


def _trained_folder(tmp_path: Path, table: pd.DataFrame, spec) -> str:
    from components.train_model import core

    folder = str(tmp_path / "model")
    core.save(core.train(table, spec, holdout=table.tail(100)), folder)
    return folder


@pytest.mark.parametrize("kind", ["regression", "own framework"])
def test_online_equals_batch_for_a_regressor_with_a_boolean_feature_and_a_model_of_another_framework(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
):
    from components.train_model.core import TrainingSpec
    from tests.use_cases import shop_sales

    if kind == "regression":
        table = shop_sales(600, seed=1)
        spec = TrainingSpec("units", estimator="sklearn.ensemble:HistGradientBoostingRegressor")
        rows = shop_sales(50, seed=2).drop(columns=["units"])
    else:
        monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "components"))
        table = to_score(600, seed=1).assign(churned=lambda f: (f["support_calls"] > 3).astype(int))
        table = table.drop(columns=["snapshot_time", "customer_id"])
        spec = TrainingSpec("churned", train_function="custom_framework:train")
        rows = to_score(50, seed=2).drop(columns=["snapshot_time", "customer_id"])
    folder = _trained_folder(tmp_path, table, spec)
    io.write_table(rows, str(tmp_path / "rows.parquet"))
    served = models.from_folder(folder, "sales", 1)
    score_table(
        served.model,
        served.metadata,
        str(tmp_path / "rows.parquet"),
        str(tmp_path / "out.parquet"),
        ScoringRun("sales", 1, "batch"),
    )
    batch = io.read_table(str(tmp_path / "out.parquet"))

    with serving(models.ModelWatcher(lambda _: served)) as url, httpx.Client() as client:
        _wait_healthy(client, url)
        answer = client.post(url + "/predict", json={"instances": records(rows)})

    assert answer.status_code == 200, answer.text
    online = answer.json()["predictions"]
    assert [p["prediction"] for p in online] == batch["prediction"].tolist()
    assert [p["score"] for p in online] == batch["score"].tolist()
