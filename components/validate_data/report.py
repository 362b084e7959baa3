"""A self-contained HTML report (inline CSS, no external assets) of a validation outcome."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from components.validate_data.core import ValidationOutcome


def render_html(outcome: ValidationOutcome) -> str:
    rows = []
    for item in outcome.result["results"]:
        config = item["expectation_config"]
        kwargs = {k: v for k, v in config["kwargs"].items() if k not in ("batch_id", "column")}
        result = item.get("result") or {}
        observed = result.get("observed_value", result.get("unexpected_count", ""))
        if item.get("exception_info", {}).get("raised_exception"):
            observed = item["exception_info"]["exception_message"]
        evaluated = (item.get("meta") or {}).get("evaluated", "")
        status = "pass" if item["success"] else "fail"
        rows.append(
            f"<tr class='{status}'><td>{status.upper()}</td><td>{html.escape(config['type'])}</td>"
            f"<td>{html.escape(str(config['kwargs'].get('column', '')))}</td>"
            f"<td>{html.escape(str(kwargs))}</td><td>{html.escape(str(observed))}</td>"
            f"<td>{html.escape(evaluated)}</td></tr>"
        )
    verdict = "PASSED" if outcome.passed else "FAILED"
    failed = "".join(f"<li>{html.escape(str(failure))}</li>" for failure in outcome.failures)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Data validation: {html.escape(outcome.source)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; width: 100%; font-size: 14px; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }}
th {{ background: #f0f0f0; }} tr.fail td {{ background: #fde2e2; }} tr.pass td:first-child {{ color: #1a7f37; }}
.verdict {{ font-weight: bold; color: {"#1a7f37" if outcome.passed else "#c62828"}; }}
</style></head><body>
<h1>Data validation <span class="verdict">{verdict}</span></h1>
<p>Data: <code>{html.escape(outcome.source)}</code> ({outcome.rows:,} rows, read in {outcome.batches} batches
{f"over {outcome.shards} shards" if outcome.shards > 1 else ""})<br>
Suite: <code>{html.escape(outcome.suite_name)}</code>: {outcome.evaluated} expectations,
{len(outcome.failures)} failed, {outcome.success_percent:.1f}% passed</p>
{f"<ul>{failed}</ul>" if failed else ""}
<table><tr><th>Status</th><th>Expectation</th><th>Column</th><th>Rule</th><th>Observed / unexpected</th>
<th>Evaluated</th></tr>
{"".join(rows)}
</table></body></html>
"""
