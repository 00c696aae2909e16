"""Errors of the extraction stage, importable without importing spaCy."""


class NlpError(RuntimeError):
    """The configured spaCy pipeline cannot be loaded."""
