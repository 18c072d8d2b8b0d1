"""gunicorn settings for the multiprocess test: the two hooks the README documents."""

from llm_exporter.multiprocess import child_exit, on_starting

__all__ = ["child_exit", "on_starting"]
