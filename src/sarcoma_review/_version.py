"""The one place that holds the book's version (semantic versioning: MAJOR.MINOR.PATCH).

`review release VERSION` rewrites this file; CITATION.cff, the book banner and the changelog are
generated from it.
"""

__version__ = "0.2.0"
