"""Container image names: every component runs in its own image, `<registry>/<component>:<tag>`.

The defaults name the images `make images` builds locally; `compile.py --image-registry R
--image-tag T` points compiled pipelines at R/<component>:T (e.g. an Artifact Registry repository).
"""

from importlib.metadata import PackageNotFoundError, version

DEFAULT_REGISTRY = "localhost/keel"
IMAGE_PREFIX = "keel-"
# A pipeline passes `[RUN_IMAGES]` where a task records the run's images (register_model, for
# lineage); compiling replaces that list with every image the compiled pipeline names. Under
# kfp.local, which runs no image, it stays as it is.
RUN_IMAGES = "keel:run-images"

try:
    __version__ = version("keel-pipelines")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"


def image(component: str, registry: str = DEFAULT_REGISTRY, tag: str = __version__) -> str:
    """The image reference of `component` (its folder name, e.g. `validate_data`)."""
    return f"{registry.rstrip('/')}/{IMAGE_PREFIX}{component.replace('_', '-')}:{tag}"
