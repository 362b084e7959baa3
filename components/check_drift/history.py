"""The monitoring history of a batch scoring output: one drift record per run date, and its trend.

    <output_uri>/_monitoring/run_date=<YYYY-MM-DD>.json

Each record is a check's anomalies (decision, rows, per-feature distance, limit and verdict) plus
the run date and when it was recorded. One file per run date, written atomically: a rerun for the
same date replaces its record, runs for different dates never touch each other's, and a reader
never sees a partial file. Readers of the predictions skip the folder (`_` prefix).
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

import pyarrow.fs as pa_fs

from components.check_drift import plots
from components.common import io, parameters

FOLDER = "_monitoring"
_RECORD = re.compile(r"run_date=(\d{4}-\d{2}-\d{2})\.json")
SCORE_ROW = "(score)"


def record_uri(output_uri: str, day: str) -> str:
    return f"{output_uri.rstrip('/')}/{FOLDER}/run_date={day}.json"


def append(output_uri: str, run_date: str, schedule_time: str, anomalies: dict[str, Any]) -> str:
    """Record a check's `anomalies` as the run date's record (see `parameters.run_date`); returns its URI."""
    day = parameters.run_date(run_date, schedule_time)
    uri = record_uri(output_uri, day)
    io.write_json(uri, {"run_date": day, "recorded_at": datetime.now(UTC).isoformat(), **anomalies})
    return uri


def read(output_uri: str, last: int = 0) -> list[dict[str, Any]]:
    """The records under `output_uri`, oldest first; only the `last` ones when `last` > 0."""
    fs, path = io.filesystem(f"{output_uri.rstrip('/')}/{FOLDER}")
    if fs.get_file_info(path).type != pa_fs.FileType.Directory:
        return []
    prefix = "gs://" if output_uri.startswith("gs://") else ""
    names = sorted(
        info.path for info in fs.get_file_info(pa_fs.FileSelector(path)) if _RECORD.fullmatch(info.base_name)
    )
    return [io.read_json(prefix + name) for name in names[-last if last > 0 else 0 :]]


def _series(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any] | None]]:
    """Row name -> its figures in each record (None where a record lacks it), features first, then scores."""
    by_name = [{one["name"]: one for one in record.get("features", [])} for record in records]
    names = list(dict.fromkeys(name for figures in by_name for name in figures))
    rows = {name: [figures.get(name) for figures in by_name] for name in names}
    if any(record.get("score") for record in records):
        rows[SCORE_ROW] = [record.get("score") for record in records]
    return rows


def _cell(figures: dict[str, Any] | None) -> str:
    if not figures:
        return "-"
    return f"{figures['distance']:.4f}" + ("*" if figures["drifted"] else "")


def table(records: list[dict[str, Any]]) -> str:
    """Per-feature distance run by run (`*`: drifted), then each run's decision."""
    dates = [record["run_date"] for record in records]
    rows = _series(records)
    first = max([len("feature"), *(len(name) for name in rows)])
    lines = [f"{'feature':<{first}}  " + "  ".join(f"{date:>10}" for date in dates)]
    for name, figures in rows.items():
        lines.append(f"{name:<{first}}  " + "  ".join(f"{_cell(one):>10}" for one in figures))
    lines.append(f"{'decision':<{first}}  " + "  ".join(f"{record['decision']:>10}" for record in records))
    lines.append(f"{'rows':<{first}}  " + "  ".join(f"{record['rows']:>10}" for record in records))
    return "\n".join(lines)


def trend_html(records: list[dict[str, Any]], title: str) -> str:
    """A page with one trend chart per feature (and the scores) over the runs of `records`."""
    dates = [record["run_date"] for record in records]
    charts = []
    for name, figures in _series(records).items():
        distances = [one["distance"] if one else None for one in figures]
        limits = [max(one["threshold"], one["noise_floor"]) if one else None for one in figures]
        drifted = [bool(one and one["drifted"]) for one in figures]
        metric = next((one["metric"] for one in figures if one), "")
        charts.append(plots.trend_chart(f"{name} ({metric})", dates, distances, limits, drifted))
    decisions = "".join(
        f"<tr><td>{html.escape(record['run_date'])}</td><td>{html.escape(record['decision'])}</td>"
        f"<td>{record['rows']}</td><td>{html.escape(record.get('subject', ''))}</td></tr>"
        for record in records
    )
    body = (
        f"<h1>{html.escape(title)}</h1><p>Distance per run; dashed: the limit (threshold, or the noise "
        f"floor when higher); red: drifted.</p><div>{''.join(charts)}</div>"
        f"<h2>Runs</h2><table><tr><th>run date</th><th>decision</th><th>rows</th><th>model</th></tr>"
        f"{decisions}</table>"
    )
    return plots.page(title, body)
