"""The ``pressrag`` command: rag's command group plus the web app's ``serve``.

Joining them here keeps the layers in order: app.py uses rag/, and rag/ never imports app.py.
Importing app.py is cheap (gradio loads only when the chat starts); it is imported in main() all the
same, so that ``ask`` can start its Kiwi helper first.
"""

from __future__ import annotations

import sys
from functools import lru_cache

from ingest.korean import start_helper


@lru_cache(maxsize=1)
def command_group():
    """rag's typer app with the web app's ``serve`` added (built once)."""
    import app as web
    from rag.cli import app

    web.register_serve(app)
    return app


def __getattr__(name: str):
    if name == "app":  # ``from pressrag.cli import app``, as before main() built it lazily
        return command_group()
    raise AttributeError(name)


def main() -> None:
    if sys.argv[1:2] == ["ask"]:
        start_helper()  # Kiwi loads in a second process while the command group is imported and parsed
    command_group()(prog_name="pressrag")


if __name__ == "__main__":
    main()
