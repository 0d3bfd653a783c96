"""Province scale: the audit and site selection for every region of a study area, one task per
region on Dask distributed (issue 11): :func:`run_batch`, regions from polygons or a demand
column (:mod:`.regions`), the halo that makes borders exact (:mod:`.clip`), the per-region
task (:mod:`.task`) and the province roll-up (:mod:`.rollup`)."""

from .regions import Regions, regions_from_column, regions_from_polygons
from .run import BatchOptions, BatchResult, run_batch, split_budget
from .task import SitingSpec

__all__ = ["BatchOptions", "BatchResult", "Regions", "SitingSpec", "regions_from_column", "regions_from_polygons",
           "run_batch", "split_budget"]
