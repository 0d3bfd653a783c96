// yanglao-coverage page probe (our own code, MIT; not a vendored asset).
// Evaluated by coverage.browser.page_check as `(this function)(options)`; returns a JSON-able
// report of the Leaflet maps on the page. With options.openPopups it clicks every feature
// (opening its popup) and hovers it (opening its tooltip), recording their text and the
// element types inside them.
async function (options) {
  const frame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  for (let i = 0; i < 100 && document.readyState !== "complete"; i++) await sleep(50);
  await frame();
  const out = {
    title_before: document.title,
    leaflet_version: window.L && L.version ? L.version : null,
    n_maps: 0, n_circle_markers: 0, n_markers: 0, n_paths: 0, n_tile_layers: 0,
    n_svg_paths: 0, canvas_pixels: 0, layer_names: [], popup_texts: [], tooltip_texts: [],
    popup_tags: [], n_clicked: 0, probe_errors: [],
  };
  const maps = [];
  if (out.leaflet_version) {
    for (const el of document.querySelectorAll(".leaflet-container")) {
      const obj = window[el.id];
      if (obj instanceof L.Map && !maps.includes(obj)) maps.push(obj);
    }
  }
  out.n_maps = maps.length;
  out.layer_names = Array.from(
    document.querySelectorAll(".leaflet-control-layers-list label"),
    (label) => label.textContent.trim(),
  );
  out.n_svg_paths = document.querySelectorAll(".leaflet-overlay-pane svg path").length;
  for (const canvas of document.querySelectorAll(".leaflet-overlay-pane canvas")) {
    try {
      const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) out.canvas_pixels += 1;
    } catch (err) {
      out.probe_errors.push("canvas: " + err);
    }
  }
  const leaves = [];
  for (const map of maps) {
    map.eachLayer((layer) => {
      if (layer instanceof L.TileLayer) out.n_tile_layers += 1;
      if (layer instanceof L.CircleMarker) out.n_circle_markers += 1;
      else if (layer instanceof L.Marker) out.n_markers += 1;
      if (layer instanceof L.Path) out.n_paths += 1;
      if (!(layer instanceof L.LayerGroup) && !(layer instanceof L.GridLayer)) {
        leaves.push([map, layer]);
      }
    });
  }
  const tags = new Set();
  const record = (selector, list) => {
    for (const el of document.querySelectorAll(selector)) {
      list.push(el.textContent.trim());
      for (const child of el.querySelectorAll("*")) tags.add(child.tagName.toLowerCase());
    }
  };
  if (options.openPopups) {
    for (const [map, layer] of leaves.slice(0, options.maxPopups)) {
      let latlng = null;
      try {
        latlng = layer.getLatLng ? layer.getLatLng() : layer.getCenter ? layer.getCenter() : null;
      } catch (err) {
        latlng = null; // empty or unprojected geometry
      }
      if (!latlng) continue;
      try {
        out.n_clicked += 1;
        layer.fire("click", { latlng: latlng, originalEvent: null }, true);
        record(".leaflet-popup-content", out.popup_texts);
        map.closePopup();
        // closed overlays fade out for 200 ms; remove them now so each is read once
        for (const el of document.querySelectorAll(".leaflet-popup")) el.remove();
        layer.fire("mouseover", { latlng: latlng, originalEvent: null }, true);
        record(".leaflet-tooltip", out.tooltip_texts);
        layer.fire("mouseout", { latlng: latlng, originalEvent: null }, true);
        for (const el of document.querySelectorAll(".leaflet-tooltip")) el.remove();
      } catch (err) {
        out.probe_errors.push(String(err));
      }
    }
    await sleep(300); // let any injected <img onerror> or timer fire
    await frame();
  }
  out.popup_tags = Array.from(tags).sort();
  out.title = document.title;
  out.body_text = (document.body ? document.body.innerText : "").slice(0, 20000);
  return out;
}
