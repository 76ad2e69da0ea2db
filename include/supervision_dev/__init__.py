"""Developer tools of the supervision pipeline, not part of the product: the county simulator (``simulator``), the
demo (``demo``: simulated county systems, then the real nightly run), the benchmarks (``bench*``) and the local
CeleryExecutor process stack of the tests and benchmarks (``celery_stack``).

Installed in the development environment (``make install``: the editable install puts ``include/`` on the path);
not in the product wheel (pyproject.toml lists only ``supervision``) nor in the Docker image. Commands:
``python -m supervision_dev demo|simulate`` (also ``supervision demo|simulate`` when this package is present),
``python -m supervision_dev.bench`` (``make bench``), docs/benchmarks.md for the others.
"""
