"""Publishing: everything a planner opens or hands in. Tables and GeoPackages
(:mod:`.tables`), interactive maps (:mod:`.maps`), static figures and charts, the HTML/PDF
report (:mod:`.report`), Excel workbooks (:mod:`.excel`), headless-browser pictures
(:mod:`.browser`), the audit and siting packages, all written as all-or-nothing output
sets (:mod:`.atomic`). User text is escaped here for the place it goes."""
