#!/bin/sh
# Install keel-pipelines[EXTRAS] into the image's venv: one extra (ml) or several, comma-separated
# (ml,serving). From the build context mounted at /ctx only: no network (--no-index), the lock's
# versions, no pip cache, no bundled test suites; bytecode is compiled now, so that tasks do not
# recompile every module they import on start.
# Used by every images/<name>/Dockerfile: `RUN --mount=type=bind,target=/ctx sh /ctx/install-extra.sh ml`
set -eu
/opt/venv/bin/python /ctx/pip.whl/pip install --quiet --no-index --find-links /ctx/wheelhouse \
  --constraint /ctx/constraints.txt --no-cache-dir --disable-pip-version-check \
  --root-user-action=ignore "keel-pipelines[$1]"
find /opt/venv -depth -type d -name tests -exec rm -rf {} +
