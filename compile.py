"""Compile every component and pipeline into build/ as YAML: `python compile.py --help`."""

import sys

from pipelines.cli import main

if __name__ == "__main__":
    main(["compile", *sys.argv[1:]])
