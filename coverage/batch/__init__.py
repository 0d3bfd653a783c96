"""Province scale: the audit and site selection for every region of a study area, one task per
region on Dask distributed (issue 11)."""
