"""The evaluation report: one HTML page with inline SVG plots, no scripts and no external assets."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # core imports this module
    from components.evaluate_model.core import EvaluationResult

WIDTH, HEIGHT, MARGIN = 380, 320, 48
TICKS = 5


def _scale(value: float, low: float, high: float, start: float, end: float) -> float:
    return start + (value - low) / ((high - low) or 1.0) * (end - start)


def chart(
    title: str,
    x_label: str,
    y_label: str,
    points: Sequence[tuple[float, float]],
    bounds: tuple[float, float, float, float] = (0.0, 1.0, 0.0, 1.0),
    as_line: bool = True,
    diagonal: bool = False,
) -> str:
    """An SVG line (or scatter) chart of `points` within `bounds` (x low, x high, y low, y high)."""
    x_low, x_high, y_low, y_high = bounds

    def position(x: float, y: float) -> tuple[float, float]:
        return (
            _scale(x, x_low, x_high, MARGIN, WIDTH - 12),
            _scale(y, y_low, y_high, HEIGHT - MARGIN, 28),
        )

    parts = [
        f'<text x="{WIDTH / 2}" y="18" text-anchor="middle" font-weight="bold">{html.escape(title)}</text>'
    ]
    left, bottom = position(x_low, y_low)
    right, top = position(x_high, y_high)
    parts.append(
        f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" fill="none" stroke="#999"/>'
    )
    for step in range(TICKS + 1):
        x_value = x_low + (x_high - x_low) * step / TICKS
        y_value = y_low + (y_high - y_low) * step / TICKS
        tick_x, _ = position(x_value, y_low)
        _, tick_y = position(x_low, y_value)
        parts.append(f'<text x="{tick_x:.1f}" y="{bottom + 14}" text-anchor="middle">{x_value:.3g}</text>')
        parts.append(f'<text x="{left - 4}" y="{tick_y + 4:.1f}" text-anchor="end">{y_value:.3g}</text>')
    parts.append(
        f'<text x="{(left + right) / 2}" y="{HEIGHT - 8}" text-anchor="middle">{html.escape(x_label)}</text>'
    )
    parts.append(
        f'<text x="12" y="{(top + bottom) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 12 {(top + bottom) / 2})">{html.escape(y_label)}</text>'
    )
    if diagonal:
        parts.append(
            f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{top}" stroke="#bbb" stroke-dasharray="4 4"/>'
        )
    placed = [position(x, y) for x, y in points]
    if as_line:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in placed)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#1565c0" stroke-width="2"/>')
    else:
        parts += [
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="#1565c0" fill-opacity="0.5"/>' for x, y in placed
        ]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-size="11" '
        f'font-family="system-ui, sans-serif">{"".join(parts)}</svg>'
    )


def _table(rows: Sequence[tuple[str, object]]) -> str:
    cells = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


def _confusion_matrix(result: EvaluationResult) -> str:
    names = [html.escape(str(name)) for name in result.classes]
    largest = max((count for row in result.confusion_matrix for count in row), default=0) or 1
    header = "".join(f"<th>predicted {name}</th>" for name in names)
    rows = []
    for name, row in zip(names, result.confusion_matrix, strict=True):
        cells = "".join(
            f'<td style="background: rgba(21, 101, 192, {0.08 + 0.6 * count / largest:.2f})">{count}</td>'
            for count in row
        )
        rows.append(f"<tr><th>actual {name}</th>{cells}</tr>")
    return f"<table class='matrix'><tr><th></th>{header}</tr>{''.join(rows)}</table>"


def _plots(result: EvaluationResult) -> list[str]:
    plots = []
    if result.roc_curve:
        auc = result.metrics["roc_auc"]
        points = list(zip(result.roc_curve.x, result.roc_curve.y, strict=True))
        plots.append(
            chart(
                f"ROC curve (AUC {auc:.3f})",
                "false positive rate",
                "true positive rate",
                points,
                diagonal=True,
            )
        )
    if result.pr_curve:
        points = list(zip(result.pr_curve.x, result.pr_curve.y, strict=True))
        plots.append(
            chart(f"Precision-recall (AP {result.metrics['pr_auc']:.3f})", "recall", "precision", points)
        )
    if result.actual_vs_predicted:
        values = [value for pair in result.actual_vs_predicted for value in pair]
        bounds = (min(values), max(values)) * 2
        plots.append(
            chart(
                "Predicted vs. actual", "actual", "predicted", result.actual_vs_predicted, bounds, False, True
            )
        )
    return plots


def render_html(result: EvaluationResult) -> str:
    """A self-contained HTML report: metrics, model, plots and (classification) the confusion matrix."""
    model = result.model
    training = model.get("training_data", {})
    model_rows = [
        ("model", model.get("estimator") or model.get("train_function")),
        ("framework", model.get("framework")),
        ("task", result.task),
        ("label", model.get("label")),
        ("trained on", f"{training.get('uri', '')} ({training.get('rows', '?')} rows)"),
        ("model sha256", model.get("sha256")),
        ("created", model.get("created_at")),
    ]
    metric_rows = [
        (name, f"{value:.4f}" if name != "rows" else int(value)) for name, value in result.metrics.items()
    ]
    matrix = f"<h2>Confusion matrix</h2>{_confusion_matrix(result)}" if result.confusion_matrix else ""
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Model evaluation: {html.escape(result.source)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; font-size: 14px; margin-bottom: 1em; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; }}
th {{ background: #f0f0f0; }} table.matrix td {{ text-align: right; min-width: 4em; }}
svg {{ margin: 0 1em 1em 0; }}
</style></head><body>
<h1>Model evaluation</h1>
<p>Holdout: <code>{html.escape(result.source)}</code> ({int(result.metrics["rows"])} rows)</p>
<h2>Metrics</h2>{_table(metric_rows)}
<h2>Model</h2>{_table(model_rows)}
<h2>Plots</h2><div>{"".join(_plots(result))}</div>
{matrix}
</body></html>
"""
