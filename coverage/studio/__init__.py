"""The planning studio: ``coverage serve``, live what-if in the browser (issue 14)."""
