"""serving: `keel serve` under load from a real HTTP client, against the bare model call on the same rows.

The server runs as a user runs it: `keel serve churn --registry R`, its own process, R a local
registry whose champion is the run's model. The client runs in this process: the standard library's
http.client, one keep-alive connection per thread, CONCURRENCY threads each sending its next request
as soon as its answer is in (its garbage collector paused meanwhile). On these 2 cores the client
shares the CPU with the server, so it must be lean: measured side by side here, http.client in
threads spent 0.15-0.45 ms of CPU per request, httpx.Client in threads 1-4.5 ms. Every answer is
checked (200, one prediction per row); anything else, or no answer, is an error. Requests hold 1 or
100 sample customers, as JSON objects by feature name.

The reference: the same model's predict_proba on the same rows, already a DataFrame, in one thread as
the server calls it, in a fresh process; overhead is the p50 latency at concurrency 1 minus its p50.
Each level and the reference run in ROUNDS windows of WINDOW seconds, interleaved, so that a busy
moment of the shared machine hits them alike; percentiles pool the windows.
"""

from __future__ import annotations

import gc
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks.harness import Context, Figure, measure

NAME = "serving"
SIZES = {"one_row": 1, "hundred_rows": 100}
CONCURRENCY = (1, 16, 64)
ROUNDS = 3
WINDOW = 2.0  # seconds
HEADERS = {"Content-Type": "application/json"}

BARE = """
import pandas as pd
from threadpoolctl import threadpool_limits
from components.common import model_files
model, metadata = model_files.load(sys.argv[1])
rows = pd.read_parquet(sys.argv[2], columns=[f["name"] for f in metadata["features"]])
size, seconds = int(sys.argv[3]), float(sys.argv[4])
frames = [rows.iloc[start : start + size] for start in range(0, len(rows), size)]
threadpool_limits(1)  # as the server calls the model
for frame in frames[:10]:
    model.predict_proba(frame)  # warm-up
latencies, end = [], time.perf_counter() + seconds
while time.perf_counter() < end:
    started = time.perf_counter()
    model.predict_proba(frames[len(latencies) % len(frames)])
    latencies.append(time.perf_counter() - started)
result = {"latencies": latencies}
"""


class _Load:
    """Latencies (s), errors and client CPU seconds of every window at one level, pooled."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.cpu = 0.0
        self.seconds = 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies, q)) * 1000


def _window(port: int, bodies: list[bytes], rows: int, concurrency: int, into: _Load) -> None:
    """`concurrency` senders, each on its own keep-alive connection, for WINDOW seconds."""
    ready, stop = threading.Barrier(concurrency + 1), threading.Event()
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency

    def send(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.connect()
        ready.wait()
        sent = index
        while not stop.is_set():
            body, sent = bodies[sent % len(bodies)], sent + 1
            started = time.perf_counter()
            try:
                connection.request("POST", "/predict", body, HEADERS)
                response = connection.getresponse()
                answer = response.read()
                ok = response.status == 200 and len(json.loads(answer)["predictions"]) == rows
            except (OSError, http.client.HTTPException, ValueError, KeyError):
                ok = False
                connection.close()  # reconnects on the next request
            latencies[index].append(time.perf_counter() - started)
            errors[index] += not ok
        connection.close()

    senders = [threading.Thread(target=send, args=(index,)) for index in range(concurrency)]
    for sender in senders:
        sender.start()
    gc.disable()
    try:
        ready.wait()
        started, cpu = time.perf_counter(), time.process_time()
        time.sleep(WINDOW)
        stop.set()
        for sender in senders:
            sender.join()
        into.seconds += time.perf_counter() - started
        into.cpu += time.process_time() - cpu
    finally:
        gc.enable()
    into.latencies += [latency for own in latencies for latency in own]
    into.errors += sum(errors)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthy(port: int, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"keel serve did not become healthy:\n{log.read_text()[-3000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.1)


def run(context: Context) -> dict[str, Figure]:
    from components.common import sample_data
    from components.common.registry import open_registry

    work = context.scratch / "serving"
    work.mkdir()
    model = context.model()
    registry = open_registry(str(work / "registry"))
    registry.promote("churn", registry.register("churn", str(model)).version)
    customers = sample_data.generate(1_000, seed=2).drop(columns=[sample_data.LABEL, "snapshot_time"])
    customers.to_parquet(work / "rows.parquet")
    records = json.loads(customers.to_json(orient="records", double_precision=15))
    bodies = {
        size: [
            json.dumps({"instances": records[start : start + size]}).encode()
            for start in range(0, len(records), size)
        ]
        for size in SIZES.values()
    }

    port, log = _free_port(), work / "server.log"
    command = [
        str(Path(sys.executable).parent / "keel"),
        "serve",
        "churn",
        "--registry",
        str(work / "registry"),
    ]
    with log.open("w") as output:
        server = subprocess.Popen(
            [*command, "--port", str(port)],
            stdout=output,
            stderr=output,
            env={**os.environ, "KEEL_HOME": str(work / "home")},
        )
    loads = {(size, c): _Load() for size in SIZES.values() for c in CONCURRENCY}
    bare: dict[int, list[float]] = {size: [] for size in SIZES.values()}
    try:
        _healthy(port, server, log)
        for size in SIZES.values():  # warm-up
            _window(port, bodies[size], size, 16, _Load())
        for _ in range(ROUNDS):
            for size in SIZES.values():
                bare[size] += measure(BARE, model, work / "rows.parquet", size, WINDOW)["latencies"]
                for c in CONCURRENCY:
                    _window(port, bodies[size], size, c, loads[size, c])
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    figures: dict[str, Figure] = {}
    for name, size in SIZES.items():
        reference = float(np.percentile(bare[size], 50)) * 1000
        served = loads[size, 1].percentile(50)
        figures[f"{name}_overhead_ms"] = Figure(
            round(served - reference, 2),
            "ms",
            goal="<= 2" if size == 1 else None,
            reference=f"p50 at concurrency 1: {served:.2f} ms; predict_proba on the same {size}-row frames "
            f"(one thread, as the server calls it): {reference:.2f} ms (p50 of {len(bare[size]):,} calls)",
        )
        for c in CONCURRENCY:
            load = loads[size, c]
            requests = len(load.latencies)
            figures[f"{name}_c{c}_p50_ms"] = Figure(round(load.percentile(50), 2), "ms")
            figures[f"{name}_c{c}_p99_ms"] = Figure(
                round(load.percentile(99), 2),
                "ms",
                goal="<= 25" if (size, c) == (1, 16) else None,
                reference=f"{requests:,} requests of {size} row(s), {c} at a time",
            )
            figures[f"{name}_c{c}_requests_per_second"] = Figure(
                round(requests / load.seconds),
                "requests/s",
                reference=f"{ROUNDS} windows of {WINDOW:.0f} s; the client's CPU: "
                f"{load.cpu / requests * 1000:.2f} ms per request",
            )
    total = sum(len(load.latencies) for load in loads.values())
    failed = {f"{size} row(s) x {c}": load.errors for (size, c), load in loads.items() if load.errors}
    figures["errors"] = Figure(
        sum(load.errors for load in loads.values()),
        goal="<= 0",
        reference=f"of {total:,} requests at every level" + (f": {failed}" if failed else ""),
    )
    return figures
