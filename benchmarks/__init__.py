"""Benchmarks of the build, the pooling and ``review serve`` (``make bench``, i.e. ``python -m benchmarks``).

Not part of the runtime package: the book never imports them. ``harness`` measures builds and pooling
and writes ``BENCHMARKS.md`` and ``_build/bench/results.json``; ``serve`` measures an edit under
``review serve``. Benchmarks, not tests: nothing here fails a build.
"""
