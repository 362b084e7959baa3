"""Links to the Google Cloud console, from Vertex AI resource names."""

from __future__ import annotations

_CONSOLE_PAGES = {"pipelineJobs": "runs", "schedules": "schedules"}


def console_url(resource_name: str, project: str = "") -> str:
    """The console page of a pipeline job or schedule (`projects/P/locations/L/pipelineJobs/ID`);
    `project` defaults to the resource name's project (an id or a number, the console takes both)."""
    _, named_project, _, location, collection, resource_id = resource_name.split("/")
    return (
        f"https://console.cloud.google.com/vertex-ai/locations/{location}/pipelines/"
        f"{_CONSOLE_PAGES[collection]}/{resource_id}?project={project or named_project}"
    )
