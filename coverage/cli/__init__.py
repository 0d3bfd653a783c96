"""The command line: ``coverage audit|costs|site|data`` (:mod:`.commands`) and the workflow
commands (:mod:`.workflows`)."""

from .commands import build_parser, main

__all__ = ["build_parser", "main"]
