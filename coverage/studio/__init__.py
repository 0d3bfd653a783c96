"""The planning studio: ``coverage serve``, live what-if in the browser (issue 14).

:class:`~coverage.studio.session.Studio` keeps an audit live for edits (add, move, close a
station; undo, redo), :mod:`~coverage.studio.scenarios` names, compares and exports plans
and ranks candidate sites, :func:`~coverage.studio.app.create_app` is the FastAPI
application (page and JSON API, behind the token/Host/size/rate guard) and
:mod:`~coverage.studio.server` runs it with uvicorn.
"""

from .app import create_app, new_token
from .scenarios import ScenarioBook, rank_candidates
from .session import Studio

__all__ = ["ScenarioBook", "Studio", "create_app", "new_token", "rank_candidates"]
