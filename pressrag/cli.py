"""The ``pressrag`` command: rag's command group plus the web app's ``serve``.

Joining them here keeps the layers in order: app.py uses rag/, and rag/ never imports app.py.
Importing app.py is cheap (gradio loads only when the chat starts).
"""

from __future__ import annotations

import app as web
from rag.cli import app

web.register_serve(app)


def main() -> None:
    app(prog_name="pressrag")


if __name__ == "__main__":
    main()
