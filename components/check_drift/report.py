"""The drift report: one HTML page with a table of every feature and, per feature, its reference
and current shares side by side (inline SVG, no scripts, no external assets)."""

from __future__ import annotations

import html

from components.check_drift import plots
from components.check_drift.results import DriftOutcome, FeatureDrift


def _row(one: FeatureDrift) -> str:
    verdict = '<td class="drifted">drifted</td>' if one.drifted else "<td>ok</td>"
    cells = [
        one.name,
        one.kind,
        one.metric,
        f"{one.distance:.4f}",
        f"{one.threshold:.4f}",
        f"{one.noise_floor:.4f}",
    ]
    return (
        "<tr>"
        + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in cells)
        + verdict
        + f"<td>{html.escape(one.detail())}</td></tr>"
    )


def _chart(one: FeatureDrift) -> str:
    if one.missing:
        return f"<p><b>{html.escape(one.name)}</b>: column missing from the data.</p>"
    title = f"{one.name}: {one.metric} {one.distance:.4f}"
    return plots.shares_chart(title, one.buckets, one.reference, one.current)


def render_html(outcome: DriftOutcome) -> str:
    """The report: decision, one row per feature (and the scores), one chart per feature."""
    result = outcome.result
    header = (
        "<tr><th>feature</th><th>kind</th><th>metric</th><th>distance</th><th>threshold</th>"
        "<th>noise floor</th><th>verdict</th><th>largest change</th></tr>"
    )
    table = (
        f"<table>{header}{''.join(_row(one) for one in result.compared)}</table>" if result.compared else ""
    )
    note = f"<p>{html.escape(result.note)}</p>" if result.note else ""
    body = f"""<h1>Drift check: {html.escape(outcome.decision)}</h1>
<p>{html.escape(outcome.headline())}</p>
<p>Reference: {html.escape(result.subject)} ({result.reference_rows} training rows); current data: {result.rows} rows.
A feature drifts when its distance exceeds its threshold and the noise floor of the sample size
(the distance that sampling alone exceeds once in a thousand checks).</p>
{note}{table}
<div>{"".join(_chart(one) for one in result.compared)}</div>"""
    return plots.page(f"Drift check: {result.subject}", body)
