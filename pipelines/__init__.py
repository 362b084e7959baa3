"""keel-pipelines pipelines, the `keel` command line and the compiler."""
