"""Concurrent requests predicted together: one model call for the rows of every request waiting.

A model call has a fixed cost that dwarfs a row's (a scikit-learn pipeline spends ~3 ms on one row
and little more on a hundred), so while one call runs, the requests that arrive wait and then go
together in the next, up to MAX_BATCH_ROWS rows. A call also waits until as many requests wait as the
last call answered, at most as long as the last call took (a request that missed it would wait a
whole call more) and MAX_GATHER_SECONDS: under steady load the clients just answered send their next
requests at about the same time, and one call then answers them all instead of the first few (one
request at a time never waits). If a combined call fails, each request of it is predicted on its own,
so that only the request the model cannot answer fails.

Calls run in the event loop's thread, one at a time, with the model's own threads (OpenMP) limited
to one. A worker thread would hardly run beside the loop (the model's Python code holds the GIL); it
only added two thread wake-ups to every request and GIL hand-offs under load: without it, ~40% more
requests per second at 16 and 64 at a time (measured with the client of `make bench`'s serving section).
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
from threadpoolctl import threadpool_limits

from serving.models import ServedModel

MAX_BATCH_ROWS = 10_000
MAX_GATHER_SECONDS = 0.01

Result = tuple[np.ndarray, np.ndarray] | Exception


def _predict_each(served: ServedModel, requests: list[list[list]]) -> list[Result]:
    results: list[Result] = []
    for rows in requests:
        try:
            results.append(served.predict(rows))
        except Exception as error:  # noqa: BLE001 - handed to that request
            results.append(error)
    return results


def _predict_together(served: ServedModel, requests: list[list[list]]) -> list[Result]:
    if len(requests) == 1:
        return _predict_each(served, requests)
    try:
        predicted, score = served.predict([row for rows in requests for row in rows])
    except Exception:  # noqa: BLE001 - find the request that fails, answer the others
        return _predict_each(served, requests)
    bounds = np.cumsum([0, *map(len, requests)])
    return [(predicted[a:b], score[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


class Batcher:
    """`await batcher.predict(served, rows)`: (prediction, score) of `rows`, batched with other requests."""

    def __init__(self, max_rows: int = MAX_BATCH_ROWS) -> None:
        self.max_rows = max_rows
        self._waiting: list[tuple[ServedModel, list[list], asyncio.Future]] = []
        self._arrived = asyncio.Event()
        self._last_batch, self._last_seconds = 1, 0.0  # requests the last call answered, its duration
        self._draining = False
        self._limited: ServedModel | None = None  # the model whose threads are limited

    async def predict(self, served: ServedModel, rows: list[list]) -> tuple[np.ndarray, np.ndarray]:
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((served, rows, future))
        self._arrived.set()
        if not self._draining:
            self._draining = True
            asyncio.create_task(self._drain())
        return await future

    async def _gather(self) -> None:
        """Wait until as many requests wait as the last call answered, at most as long as it took."""
        if len(self._waiting) >= self._last_batch:
            return
        try:
            async with asyncio.timeout(min(self._last_seconds, MAX_GATHER_SECONDS)):
                while len(self._waiting) < self._last_batch:
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            pass

    def _next_batch(self) -> list[tuple[ServedModel, list[list], asyncio.Future]]:
        """The first waiting request and those after it for the same model, within max_rows."""
        batch, rows = [self._waiting[0]], len(self._waiting[0][1])
        for item in self._waiting[1:]:
            if item[0] is not batch[0][0] or rows + len(item[1]) > self.max_rows:
                break
            batch.append(item)
            rows += len(item[1])
        del self._waiting[: len(batch)]
        return batch

    def _call(self, served: ServedModel, requests: list[list[list]]) -> list[Result]:
        if served is not self._limited:
            # The model's own threads would only contend with the server: calls are batched already.
            # A limit holds for the libraries loaded (a new model may load more) and, for OpenMP, for
            # the calling thread.
            threadpool_limits(1)
            self._limited = served
        try:
            return _predict_together(served, requests)
        except Exception as error:  # noqa: BLE001 - every request gets an answer
            return [error] * len(requests)

    async def _drain(self) -> None:
        try:
            while self._waiting:
                await self._gather()
                batch, started = self._next_batch(), time.perf_counter()
                results = self._call(batch[0][0], [rows for _, rows, _ in batch])
                self._last_batch, self._last_seconds = len(batch), time.perf_counter() - started
                for (_, _, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
                await asyncio.sleep(0)  # answers go out, requests that arrived meanwhile join
        finally:
            self._draining = False
