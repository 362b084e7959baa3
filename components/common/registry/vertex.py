"""Vertex AI Model Registry as a keel registry.

A keel model NAME is the Vertex model `projects/P/locations/L/models/NAME` (found by resource id,
never by display name); keel version n is Vertex version id "n". Registering uploads the model
folder's gs:// URI with its serving container (Vertex fixes it at upload: the prebuilt scikit-learn
serving image, or keel-serve given `serving_image=ServingContainer.keel_serve(image)`), creating the
model on the first registration and adding a version (`parent_model`) afterwards. The sha256,
metadata, metrics and labels are kept as JSON in the version description, where they are read back;
the labels are also set as Vertex labels (lowercased, at most 63 characters) for filtering in the
console.

On Vertex AI, Cloud Storage is mounted at /gcs/: a model folder under it is registered as its
gs:// URI, and model files are read through the mount when it is there (through gs:// otherwise).
Alias moves are separate API calls (remove, then add): unlike the local registry, concurrent
promotions of the same model are not isolated from one another.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

from components.common.errors import ParameterError
from components.common.logging import logger
from components.common.registry.base import Aliases, ModelVersion, Registry, version_from_record

_LABEL_INVALID = re.compile(r"[^a-z0-9_-]")
_SKLEARN_IMAGE_VERSION = re.compile(r"sklearn-cpu\.(\d+)-(\d+):")


def vertex_label(text: str) -> str:
    """`text` as a valid Vertex label key or value: lowercase, [a-z0-9_-], at most 63 characters."""
    return _LABEL_INVALID.sub("-", text.lower())[:63]


@dataclass(frozen=True)
class ServingContainer:
    """The container that serves a Vertex model version (its `containerSpec`), fixed at upload."""

    image: str
    command: tuple[str, ...] = ()  # empty: the image's entrypoint
    port: int | None = None  # None: Vertex's default, 8080
    predict_route: str = ""  # empty: Vertex's default
    health_route: str = ""
    names_model: bool = False  # the command takes `--model-name NAME` (keel serve's responses carry it)

    @classmethod
    def keel_serve(cls, image: str) -> ServingContainer:
        """keel-serve's image (components.images.image("serve"), as compiled): `keel serve` listening
        on every interface at port 8080, routes /predict and /health, serving the version's model
        folder, which Vertex AI copies and names in AIP_STORAGE_URI. The command is spelled out, not
        left to the image, so that the registered version says how it is served."""
        return cls(
            image, ("keel", "serve", "--host", "0.0.0.0"), 8080, "/predict", "/health", names_model=True
        )

    def upload_arguments(self, model_name: str) -> dict[str, Any]:
        """The container of a version of `model_name` as `aiplatform.Model.upload` takes it."""
        arguments: dict[str, Any] = {"serving_container_image_uri": self.image}
        if self.command:
            named = ("--model-name", model_name) if self.names_model else ()
            arguments["serving_container_command"] = [*self.command, *named]
        if self.port:
            arguments["serving_container_ports"] = [self.port]
        if self.predict_route:
            arguments["serving_container_predict_route"] = self.predict_route
        if self.health_route:
            arguments["serving_container_health_route"] = self.health_route
        return arguments


class VertexRegistry(Registry):
    """Vertex AI Model Registry in one project and location, optionally limited to one model.

    `api_endpoint`, `api_transport` and `credentials` are passed to `aiplatform.init` (by default:
    the regional endpoint over gRPC with Application Default Credentials). `serving_image`, the
    container new versions are uploaded with: an image, or a ServingContainer (e.g.
    `ServingContainer.keel_serve(image)`, which deploy_model deploys); by default Vertex AI's
    prebuilt scikit-learn prediction image matching the installed scikit-learn.
    """

    def __init__(
        self,
        project: str,
        location: str,
        model: str | None = None,
        *,
        api_endpoint: str | None = None,
        api_transport: str | None = None,
        credentials: Any = None,
        serving_image: str | ServingContainer | None = None,
        gcs_mount: str = "/gcs",
    ) -> None:
        self.project, self.location, self.model = project, location, model
        self.uri = f"vertex://projects/{project}/locations/{location}" + (f"/models/{model}" if model else "")
        self._api_endpoint, self._api_transport, self._credentials = api_endpoint, api_transport, credentials
        self._serving_image = serving_image
        self._gcs_mount = Path(gcs_mount)

    def __repr__(self) -> str:
        return f"VertexRegistry({self.uri!r})"

    def resource_name(self, name: str) -> str:
        """The Vertex resource name of model `name` (append `@<version>` for one version)."""
        if self.model and name != self.model:
            raise ParameterError(f"{self.uri} holds only model {self.model!r}, not {name!r}")
        return f"projects/{self.project}/locations/{self.location}/models/{name}"

    def _aiplatform(self):
        from google.cloud import aiplatform

        aiplatform.init(
            project=self.project,
            location=self.location,
            api_endpoint=self._api_endpoint,
            api_transport=self._api_transport,
            credentials=self._credentials,
        )
        return aiplatform

    def _model_registry(self, name: str):
        return self._aiplatform().ModelRegistry(
            self.resource_name(name),
            project=self.project,
            location=self.location,
            credentials=self._credentials,
        )

    # -- model folders: gs:// for Vertex, the /gcs/ mount for reading when present -----------------
    def _artifact_uri(self, name: str, folder: str) -> str:
        if folder.startswith("gs://"):
            return folder.rstrip("/")
        path = Path(folder).absolute()
        if path.is_relative_to(self._gcs_mount):
            return "gs://" + str(path.relative_to(self._gcs_mount))
        raise ParameterError(
            f"{self.uri}: cannot register model {name!r} from {folder}: Vertex AI serves models from "
            f"Cloud Storage; give a gs:// URI or a path under {self._gcs_mount}/"
        )

    def _readable_folder(self, uri: str) -> str:
        if uri.startswith("gs://"):
            mounted = self._gcs_mount / uri.removeprefix("gs://")
            return str(mounted) if mounted.is_dir() else uri
        return uri

    def _default_serving_image(self) -> str:
        from google.cloud.aiplatform.constants.prediction import SKLEARN_CONTAINER_URIS

        region = self.location.split("-")[0]
        region = region if region in ("us", "europe", "asia") else "us"
        images = {
            tuple(map(int, match.groups())): uri
            for uri in SKLEARN_CONTAINER_URIS
            if uri.startswith(f"{region}-") and (match := _SKLEARN_IMAGE_VERSION.search(uri))
        }
        installed = tuple(map(int, package_metadata.version("scikit-learn").split(".")[:2]))
        if installed in images:
            return images[installed]
        newest = max(images)
        logger.warning(
            "registry: Vertex AI has no prebuilt scikit-learn %s prediction image; using the one for %s "
            "(pass serving_image= to choose the image that serves these models)",
            ".".join(map(str, installed)),
            ".".join(map(str, newest)),
        )
        return images[newest]

    # -- primitives -------------------------------------------------------------------------------
    def _add_version(self, record: ModelVersion, folder: str) -> ModelVersion:
        from google.api_core import exceptions

        aiplatform = self._aiplatform()
        description = {
            "uri": self._artifact_uri(record.name, record.uri),
            "sha256": record.sha256,
            "metadata": record.metadata,
            "metrics": record.metrics,
            "labels": record.labels,
        }
        container = self._serving_image or self._default_serving_image()
        if isinstance(container, str):
            container = ServingContainer(container)
        upload = dict(
            artifact_uri=description["uri"],
            **container.upload_arguments(record.name),
            display_name=record.name,
            version_description=json.dumps(description, sort_keys=True, default=str),
            labels={vertex_label(key): vertex_label(value) for key, value in record.labels.items()},
            project=self.project,
            location=self.location,
            credentials=self._credentials,
        )
        parent = self.resource_name(record.name)
        if self._versions(record.name):
            uploaded = aiplatform.Model.upload(parent_model=parent, **upload)
        else:
            try:
                uploaded = aiplatform.Model.upload(model_id=record.name, **upload)
            except exceptions.AlreadyExists:  # created meanwhile by a concurrent registration
                uploaded = aiplatform.Model.upload(parent_model=parent, **upload)
        return self._to_model_version(record.name, uploaded.gca_resource)

    def _versions(self, name: str) -> list[ModelVersion]:
        from google.api_core import exceptions

        try:
            infos = self._model_registry(name).list_versions()
        except exceptions.NotFound:
            return []
        return sorted((self._to_model_version(name, info) for info in infos), key=lambda found: found.version)

    def _update_aliases(self, name: str, change: Callable[[Aliases], Aliases]) -> None:
        before = self.aliases(name)
        after = change(before)
        removed, added = _by_version(before, after), _by_version(after, before)
        registry = self._model_registry(name)
        for version, aliases in removed.items():
            registry.remove_version_aliases(aliases, str(version))
        for version, aliases in added.items():
            registry.add_version_aliases(aliases, str(version))

    def _to_model_version(self, name: str, info: Any) -> ModelVersion:
        """A ModelVersion from a Vertex model version (a `VersionInfo` or a `Model` resource); damaged
        when its description is not keel's record (e.g. a version not registered by keel)."""
        try:
            recorded, problem = json.loads(info.version_description or "{}"), ""
        except json.JSONDecodeError as error:
            recorded, problem = None, f"the version description is not keel's JSON record ({error})"
        created = info.version_create_time
        uri = recorded.get("uri", "") if isinstance(recorded, dict) else ""
        return version_from_record(
            name,
            int(info.version_id),
            recorded,
            str(uri),
            sorted(info.version_aliases),
            created.isoformat() if created else "",
            problem,
        )


def _by_version(aliases: Aliases, other: Aliases) -> dict[int, list[str]]:
    """The aliases in `aliases` that `other` lacks or points elsewhere, grouped by version."""
    grouped: dict[int, list[str]] = {}
    for alias, version in sorted(aliases.items()):
        if other.get(alias) != version:
            grouped.setdefault(version, []).append(alias)
    return grouped
