"""Errors raised by readers; each carries a one-line reason for the skip report."""


class UnreadableFile(ValueError):
    """The file cannot be turned into notice text (empty, corrupt, garbled, unknown type)."""
