"""``python -m pressrag …`` — the same as the ``pressrag`` command."""

from pressrag.cli import main

if __name__ == "__main__":
    main()
