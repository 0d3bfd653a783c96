"""Site selection: candidate sites (:mod:`.candidates`), proposals on the audit's cost table
(:mod:`.propose`) and the exact and heuristic models (:mod:`.optimize`)."""
