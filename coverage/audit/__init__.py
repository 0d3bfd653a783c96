"""The audit: distance and walking time from every home to its nearest facility, the
1000 m and 15-minute rules, false coverage, coverage by zone against a target
(:func:`~coverage.audit.run.run_audit`, on the study's engine), the cost table the site
models read (:func:`~coverage.audit.run.audit_cost_table`), the summaries and weights
(:mod:`.summary`) and which zone every point lies in (:mod:`.zones`)."""
