"""The engine: the road network as arrays (:mod:`.network`), exact snapping to edges
(:mod:`.snapping`), bounded multi-source routing (:mod:`.routing`), the sparse demand × site
cost table (:mod:`.costs`), road-following service areas (:mod:`.service_areas`), point
layers meeting the network and the messages naming their rows (:mod:`.diagnostics`), the
study's :class:`~coverage.engine.engine.Engine` that holds them together (:mod:`.engine`:
the compacted network, its graph and edge index built once, the snapped layers), the
audit's what-if state on it (:mod:`.whatif`) and walking costs on a DEM, by direction
(:mod:`.terrain`). Every length is measured on the WGS-84 ellipsoid
(:func:`.network.geodesic_m`). It knows nothing of files: inputs arrive as
arrays and GeoDataFrames, results leave as arrays."""
