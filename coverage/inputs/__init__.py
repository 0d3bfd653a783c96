"""Reading inputs: road networks (:mod:`.osm`: OSM XML/PBF, GraphML, node/edge tables,
online queries), point layers and zones (:mod:`.points`: CSV, Excel, GeoJSON, GeoPackage,
with Chinese column names and encodings) and Chinese coordinate systems (:mod:`.chinacrs`:
GCJ-02, BD-09). Everything leaves this room as a :class:`~coverage.engine.network.RoadNetwork`
or a GeoDataFrame in WGS-84."""
