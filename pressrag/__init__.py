"""pressrag: question answering over Korean government press releases, with citations you can check.

The packages below do the work: ``ingest`` (reading notices), ``rag`` (index, retrieval, answers,
command line), ``app`` (the web chat). This package is the entry point that joins them
(``pressrag`` command, ``python -m pressrag``) and holds the version.
"""

from __future__ import annotations


def __getattr__(name: str) -> str:
    if name == "__version__":
        from rag.cli import version

        return version()
    raise AttributeError(name)
