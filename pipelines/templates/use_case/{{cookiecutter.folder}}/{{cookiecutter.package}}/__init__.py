"""{{ cookiecutter.package }}: a keel-pipelines use case (pipelines.py, components/, settings in keel.toml)."""
