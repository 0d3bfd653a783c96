/* yanglao-coverage planning studio: the page of `coverage serve`.
 *
 * Talks only to its own server (JSON API, session token in a header). Every name the
 * server sends is already HTML-escaped (coverage.publish._html.esc), so it may be put into
 * innerHTML; text typed here is sent, never inserted. No inline script, no CDN. */
(function () {
  "use strict";
  var CFG = JSON.parse(document.getElementById("studio-config").textContent);
  var S = null;            // the state from /api/state
  var L_ = null;           // labels
  var map = null, layers = {}, demandMarkers = [], ringMarkers = {}, stationMarkers = {}, areaLayers = {};
  var mode = "add", busy = false;
  var panel = document.getElementById("panel");

  function api(method, path, body) {
    var opts = {method: method, headers: {"X-Studio-Token": CFG.token}};
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(path, opts).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) { throw new Error(typeof j.detail === "string" ? j.detail : JSON.stringify(j.detail)); }
        return j;
      });
    });
  }
  function el(tag, cls, html) { var e = document.createElement(tag); if (cls) e.className = cls; if (html !== undefined) e.innerHTML = html; return e; }
  function pct(x) { return x === null || x === undefined ? "—" : (100 * x).toFixed(1) + "%"; }
  function fmt(x, d) { return x === null || x === undefined ? "—" : Number(x).toLocaleString("en-US", {maximumFractionDigits: d || 0}); }
  function status(text, bad) { var s = document.getElementById("status"); s.textContent = text; s.className = bad ? "bad" : ""; }

  // ------------------------------------------------------------------ layers
  function demandStyle(cat) {
    var c = S.colours[S.categories[cat]];
    return {radius: 4, color: c, weight: 1, fill: true, fillColor: c, fillOpacity: 0.85};
  }
  function stationIcon(st) {
    var html = st["new"]
      ? '<svg width="22" height="22" viewBox="0 0 20 20"><polygon points="10,1 12.6,7.2 19.5,7.6 14.1,11.9 15.9,18.7 10,14.9 4.1,18.7 5.9,11.9 0.5,7.6 7.4,7.2" fill="#ffd400" stroke="#5b2a86" stroke-width="1.5"/></svg>'
      : '<span class="st-dot" style="background:' + S.colours.facility + '"></span>';
    return L.divIcon({className: "st-icon", html: html, iconSize: [22, 22], iconAnchor: [11, 11]});
  }
  function stationPopup(st) {
    var d = el("div", "st-pop");
    d.appendChild(el("b", "", st.name));
    d.appendChild(el("div", "", st.id));
    d.appendChild(el("div", "", L_.rule_radius + ": " + fmt(st.n_radius) + " (" + fmt(st.w_radius, 1) + ")"));
    d.appendChild(el("div", "", L_.rule_time + ": " + fmt(st.n_time) + " (" + fmt(st.w_time, 1) + ")"));
    var b = el("button", "close-btn", L_.close); b.type = "button";
    b.addEventListener("click", function () { closeStation(st.key); });
    d.appendChild(b);
    d.appendChild(el("div", "hint", L_.move_hint));
    return d;
  }
  function drawAreas(key, areas) {
    var group = areaLayers[key] || L.layerGroup();
    areas.forEach(function (a) {
      var style = a.rule === "radius"
        ? {color: S.colours.radius, weight: 3, opacity: 0.75, dashArray: "6 4"}
        : {color: S.colours.time, weight: 2.5, opacity: 0.75};
      var g = L.geoJSON(a.geometry, {style: style, interactive: false});
      g.addTo(a.rule === "radius" ? layers.sa_radius : layers.sa_time);
      group.addLayer(g);
    });
    areaLayers[key] = group;
  }
  function loadPendingAreas() {
    // many stations: their service areas arrive after the page is ready, in batches
    var keys = Object.keys(S.stationsByKey).filter(function (k) { return S.stationsByKey[k].areas_pending; });
    var version = S.version;
    function next() {
      if (!keys.length || S.version !== version) return;
      var batch = keys.splice(0, S.area_batch);
      api("GET", "/api/service_areas?keys=" + encodeURIComponent(batch.join(","))).then(function (r) {
        Object.keys(r).forEach(function (k) { if (S.stationsByKey[k] && !areaLayers[k]) { drawAreas(k, r[k]); S.stationsByKey[k].areas_pending = false; } });
        next();
      }).catch(function (err) { status(err.message, true); });
    }
    next();
  }
  function drawStation(st) {
    var m = L.marker([st.lat, st.lon], {icon: stationIcon(st), draggable: true, title: "", keyboard: false});
    m.bindTooltip(st.name);
    m.bindPopup(function () { return stationPopup(S.stationsByKey[st.key]); });
    m.on("dragend", function () { var p = m.getLatLng(); moveStation(st.key, p.lng, p.lat); });
    m.addTo(st["new"] ? layers.proposed : layers.facilities);
    stationMarkers[st.key] = m;
    if (!st.areas_pending) drawAreas(st.key, st.areas);
    S.stationsByKey[st.key] = st;
  }
  function removeStation(key) {
    var m = stationMarkers[key];
    if (m) { m.remove(); delete stationMarkers[key]; }
    var g = areaLayers[key];
    if (g) { g.eachLayer(function (l) { layers.sa_radius.removeLayer(l); layers.sa_time.removeLayer(l); }); delete areaLayers[key]; }
    delete S.stationsByKey[key];
  }
  function setDemand(i, cat, isFalse) {
    var m = demandMarkers[i];
    var old = S.demand.category[i];
    if (old !== cat) {
      layers["cat_" + S.categories[old]].removeLayer(m);
      m.setStyle(demandStyle(cat));
      layers["cat_" + S.categories[cat]].addLayer(m);
      S.demand.category[i] = cat;
    }
    if (isFalse && !ringMarkers[i]) {
      ringMarkers[i] = L.circleMarker([S.demand.lat[i], S.demand.lon[i]], {radius: 8, color: S.colours["false"], weight: 2.5, fill: false, interactive: false});
      layers["false"].addLayer(ringMarkers[i]);
    } else if (!isFalse && ringMarkers[i]) {
      layers["false"].removeLayer(ringMarkers[i]); delete ringMarkers[i];
    }
    S.demand["false"][i] = isFalse;
  }
  function zoneStyle(z) {
    var c = z && z.meets === true ? S.colours.both : z && z.meets === false ? S.colours.none : S.colours.zone;
    return {color: c, weight: 2, opacity: 0.8, fillColor: c, fillOpacity: 0.1};
  }

  function buildMap() {
    map = L.map("map", {preferCanvas: true, zoomControl: true, zoomSnap: 0.25});
    var renderer = L.canvas({padding: 0.3});
    ["zones", "roads", "sa_radius", "sa_time", "cat_both", "cat_partial", "cat_none", "cat_unreachable", "false", "facilities", "proposed"]
      .forEach(function (k) { layers[k] = L.featureGroup(); });
    S.zoneShapes = {};
    S.zone_shapes.forEach(function (z) {
      var row = S.zonesById[z.zone_id];
      var g = L.geoJSON(z.geometry, {style: zoneStyle(row)});
      if (row) g.bindTooltip(row.name);
      g.addTo(layers.zones); S.zoneShapes[z.zone_id] = g;
    });
    if (S.roads) {
      L.polyline(S.roads.map(function (line) { return line.map(function (p) { return [p[1], p[0]]; }); }),
        {color: S.colours.road, weight: 1.2, opacity: 0.8, interactive: false, renderer: renderer}).addTo(layers.roads);
    }
    var d = S.demand;
    for (var i = 0; i < d.lon.length; i++) {
      // a click on a home shows its popup and never adds a station under it
      var m = L.circleMarker([d.lat[i], d.lon[i]], Object.assign({renderer: renderer, bubblingMouseEvents: false}, demandStyle(d.category[i])));
      m._idx = i;
      m.on("click", onDemandClick);
      layers["cat_" + S.categories[d.category[i]]].addLayer(m);
      demandMarkers.push(m);
      if (d["false"][i]) { ringMarkers[i] = L.circleMarker([d.lat[i], d.lon[i]], {radius: 8, color: S.colours["false"], weight: 2.5, fill: false, interactive: false, renderer: renderer}); layers["false"].addLayer(ringMarkers[i]); }
    }
    S.stationsByKey = {};
    S.stations.forEach(drawStation);
    var order = ["zones", "roads", "sa_radius", "sa_time", "cat_both", "cat_partial", "cat_none", "cat_unreachable", "false", "facilities", "proposed"];
    var named = {};
    order.forEach(function (k) {
      var name = {zones: L_.zones, roads: L_.roads, sa_radius: L_.sa_radius, sa_time: L_.sa_time, "false": L_["false"],
        facilities: L_.facility_layer, proposed: L_.new_station}[k] || L_[k];
      layers[k].addTo(map); named[name] = layers[k];
    });
    L.control.layers(null, named, {collapsed: true}).addTo(map);
    L.control.scale({imperial: false}).addTo(map);
    var pts = d.lon.map(function (x, j) { return [d.lat[j], x]; }).concat(S.stations.map(function (s) { return [s.lat, s.lon]; }));
    if (pts.length) {
      // kept clear of the legend (bottom left) when the window can spare its width, as the committee map does
      var lg = document.getElementById("legend"), w = lg.offsetWidth + 24;
      if (w > document.getElementById("map").offsetWidth * 0.4) w = 20;
      map.fitBounds(L.latLngBounds(pts), {paddingTopLeft: [w, 20], paddingBottomRight: [20, 20]});
    }
    map.on("click", function (e) { if (mode === "add") addStation(e.latlng.lng, e.latlng.lat); });
  }
  function onDemandClick(e) {
    var i = e.target._idx;
    L.DomEvent.stopPropagation(e);
    api("GET", "/api/demand/" + i).then(function (r) {
      var box = el("div", "", "<b>" + r.name + "</b><br>" + r.id + "<br>" + (r.facility || "—") + ": " +
        (r.dist_m === null ? "—" : fmt(r.dist_m) + " m, " + fmt(r.time_min, 1) + " min") + "<br>" +
        L_.rule_radius + ": " + (r.covered_radius ? "✔" : "✘") + " · " + L_.rule_time + ": " + (r.covered_time ? "✔" : "✘"));
      L.popup().setLatLng(e.latlng).setContent(box).openOn(map);
    }).catch(function (err) { status(err.message, true); });
  }

  // ------------------------------------------------------------------ panel
  function section(title, id) { var s = el("section", "", ""); s.appendChild(el("h2", "", title)); var b = el("div", "", ""); b.id = id; s.appendChild(b); panel.appendChild(s); return b; }
  function button(text, fn, id) { var b = el("button", "", text); b.type = "button"; if (id) b.id = id; b.addEventListener("click", fn); return b; }
  function buildPanel() {
    panel.innerHTML = "";
    panel.appendChild(el("h1", "", L_.title));
    panel.appendChild(el("div", "subtitle", S.title));
    var bar = el("div", "bar", "");
    bar.appendChild(button(L_.mode_add, function () { setMode("add"); }, "mode-add"));
    bar.appendChild(button(L_.mode_view, function () { setMode("view"); }, "mode-view"));
    bar.appendChild(button("↶ " + L_.undo, function () { edit("POST", "/api/undo"); }, "undo"));
    bar.appendChild(button("↷ " + L_.redo, function () { edit("POST", "/api/redo"); }, "redo"));
    panel.appendChild(bar);
    var st = el("div", "", ""); st.id = "status"; panel.appendChild(st);
    section(L_.headline, "figures");
    section(L_.by_zone, "zones");
    var cand = section(L_.rank, "candidates-box");
    cand.appendChild(button(L_.rank, rankCandidates, "rank"));
    var list = el("ol", "", ""); list.id = "candidates"; cand.appendChild(list);
    var mdl = section(L_.model, "model-box");
    mdl.appendChild(el("span", "", '<select id="model"><option value="mclp">MCLP</option><option value="lscp">LSCP</option></select> ' +
      L_.k + ' <input id="k" type="range" min="1" max="20" value="3"> <output id="k-out">3</output> '));
    mdl.appendChild(button(L_.run, runModel, "run-model"));
    var sc = section(L_.scenarios, "scenarios-box");
    sc.appendChild(el("span", "", '<input id="sc-name" maxlength="80" placeholder="' + L_.name + '"> '));
    sc.appendChild(button(L_.save, saveScenario, "save-scenario"));
    var sl = el("ul", "", ""); sl.id = "scenarios"; sc.appendChild(sl);
    sc.appendChild(el("span", "", '<select id="cmp-a"></select> ⇄ <select id="cmp-b"></select> '));
    sc.appendChild(button(L_.compare, compareScenarios, "compare"));
    var cmp = el("div", "", ""); cmp.id = "comparison"; sc.appendChild(cmp);
    section(L_.facilities, "facilities");
    document.getElementById("k").addEventListener("input", function (e) { document.getElementById("k-out").textContent = e.target.value; });
    if (!S.candidates) { document.getElementById("rank").disabled = true; document.getElementById("run-model").disabled = true; }
    setMode(mode);
  }
  function setMode(m) {
    mode = m;
    document.getElementById("mode-add").classList.toggle("on", m === "add");
    document.getElementById("mode-view").classList.toggle("on", m === "view");
    document.getElementById("map").classList.toggle("adding", m === "add");
    status(m === "add" ? L_.add : "");
  }
  function renderFigures() {
    var rows = S.figures.map(function (f) {
      return '<tr data-key="' + f.key + '"><td>' + f.label + '</td><td class="count">' + f.count + '</td><td>' + pct(f.share) + '</td><td>' + pct(f.wshare) + "</td></tr>";
    });
    document.getElementById("figures").innerHTML = '<table><tr><th>' + L_.figure + "</th><th>" + L_.points + "</th><th>" + L_.share +
      "</th><th>" + L_.wshare + "</th></tr>" + rows.join("") + "</table>";
    renderLegend();
    document.getElementById("undo").disabled = !S.can_undo;
    document.getElementById("redo").disabled = !S.can_redo;
  }
  function renderLegend() {
    var lg = document.getElementById("legend");
    lg.innerHTML = '<div class="yl-head"><b>' + L_.legend + '</b><button type="button" class="yl-toggle">' +
      (lg.classList.contains("yl-collapsed") ? L_.show : L_.hide) + '</button></div><div class="yl-body">' + S.legend + "</div>";
    lg.querySelector(".yl-toggle").addEventListener("click", function (e) {
      var c = lg.classList.toggle("yl-collapsed"); e.target.textContent = c ? L_.show : L_.hide;
    });
  }
  function renderZones() {
    var box = document.getElementById("zones");
    if (!S.zones.length) { box.parentNode.style.display = "none"; return; }
    var rows = S.zones.map(function (z) {
      var cls = z.meets === true ? "ok" : z.meets === false ? "short" : "";
      return '<tr class="' + cls + '"><td>' + z.name + '</td><td>' + z.n + '</td><td>' + pct(z.share_radius) + '</td><td>' + pct(z.share_time) + "</td></tr>";
    });
    box.innerHTML = '<table><tr><th>' + L_.zone + '</th><th>' + L_.points + '</th><th>' + L_.radius_rule + '</th><th>' + L_.time_rule + "</th></tr>" + rows.join("") + "</table>";
  }
  function renderFacilities() {
    var box = document.getElementById("facilities");
    box.innerHTML = "";
    var ul = el("ul", "fac-list", "");
    Object.keys(S.stationsByKey).forEach(function (k) {
      var st = S.stationsByKey[k];
      var li = el("li", st["new"] ? "new" : "", "<span class=\"fname\">" + st.name + "</span> <small>" + st.id + " · " + fmt(st.n_radius) + "</small> ");
      li.dataset.key = k;
      li.querySelector(".fname").addEventListener("click", function () { map.setView([st.lat, st.lon], Math.max(map.getZoom(), 15)); stationMarkers[k].openPopup(); });
      li.appendChild(button("✕", function () { closeStation(k); }));
      ul.appendChild(li);
    });
    box.appendChild(ul);
  }
  function renderAll() { renderFigures(); renderZones(); renderFacilities(); document.body.dataset.version = S.version; }

  // ------------------------------------------------------------------ edits
  function apply(r) {
    if (r.version !== S.version + 1) { return load(); }  // another client edited: start again from the server's state
    r.closed.forEach(removeStation);
    r.opened.forEach(drawStation);
    Object.keys(r.facilities).forEach(function (k) {
      var st = S.stationsByKey[k]; if (!st) return; var v = r.facilities[k];
      st.n_radius = v[0]; st.w_radius = v[1]; st.n_time = v[2]; st.w_time = v[3];
    });
    for (var j = 0; j < r.demand.index.length; j++) setDemand(r.demand.index[j], r.demand.category[j], r.demand["false"][j]);
    r.zones.forEach(function (z) {
      S.zonesById[z.zone_id] = z;
      for (var i = 0; i < S.zones.length; i++) if (S.zones[i].zone_id === z.zone_id) S.zones[i] = z;
      if (S.zoneShapes[z.zone_id]) S.zoneShapes[z.zone_id].setStyle(zoneStyle(z));
    });
    S.figures = r.figures; S.legend = r.legend; S.version = r.version; S.can_undo = r.can_undo; S.can_redo = r.can_redo;
    renderAll();
    if (r.opened.some(function (st) { return st.areas_pending; })) loadPendingAreas();
    var verb = r.op.split(" ");
    status(verb.length > 1 ? L_["op_" + verb[0]] + ": " + (L_["op_" + verb[1]] || verb.slice(1).join(" ")) : (L_["op_" + r.op] || r.op));
    return r;
  }
  function edit(method, path, body) {
    if (busy) return Promise.resolve();
    busy = true; document.body.classList.add("busy");
    return api(method, path, body).then(apply).catch(function (err) { status(err.message, true); })
      .then(function (x) { busy = false; document.body.classList.remove("busy"); return x; });
  }
  function addStation(lon, lat, name) { return edit("POST", "/api/stations", name ? {lon: lon, lat: lat, name: name} : {lon: lon, lat: lat}); }
  function moveStation(key, lon, lat) { return edit("PUT", "/api/stations/" + encodeURIComponent(key), {lon: lon, lat: lat}); }
  function closeStation(key) { map.closePopup(); return edit("DELETE", "/api/stations/" + encodeURIComponent(key)); }

  function rankCandidates() {
    status(L_.busy);
    api("GET", "/api/candidates?top=10").then(function (r) {
      var ol = document.getElementById("candidates"); ol.innerHTML = "";
      r.candidates.forEach(function (c) {
        var li = el("li", "", c.name + " <small>" + c.id + "</small> +" + fmt(c.gain, 1) + " (" + c.points + ") ");
        li.appendChild(button("+", function () { addStation(c.lon, c.lat); }));
        ol.appendChild(li);
      });
      status("");
    }).catch(function (err) { status(err.message, true); });
  }
  function runModel() {
    status(L_.busy);
    var body = {model: document.getElementById("model").value, k: Number(document.getElementById("k").value)};
    api("POST", "/api/scenarios/propose", body).then(function () { status(""); return loadScenarios(); })
      .catch(function (err) { status(err.message, true); });
  }
  function saveScenario() {
    api("POST", "/api/scenarios", {name: document.getElementById("sc-name").value}).then(loadScenarios)
      .catch(function (err) { status(err.message, true); });
  }
  function loadScenarios() {
    return api("GET", "/api/scenarios").then(function (r) {
      var ul = document.getElementById("scenarios"); ul.innerHTML = "";
      var opts = "";
      r.scenarios.forEach(function (sc) {
        var radius = sc.figures.filter(function (f) { return f.key === "radius"; })[0];
        var li = el("li", "", "<b>" + sc.name + "</b> <small>" + sc.n_stations + " · " + radius.count + " (" + pct(radius.share) + ")</small> ");
        li.dataset.sid = sc.sid;
        li.appendChild(button(L_.open, function () { edit("POST", "/api/scenarios/" + sc.sid + "/open"); }));
        li.appendChild(button(L_["export"], function () { exportScenario(sc.sid); }));
        ul.appendChild(li);
        opts += '<option value="' + sc.sid + '">' + sc.sid + ". " + sc.name + "</option>";
      });
      var a = document.getElementById("cmp-a"), b = document.getElementById("cmp-b");
      a.innerHTML = opts; b.innerHTML = opts;
      if (b.options.length > 1) b.selectedIndex = b.options.length - 1;
    });
  }
  function exportScenario(sid) {
    status(L_.busy);
    api("POST", "/api/scenarios/" + sid + "/export").then(function (r) {
      status(L_.exported + ": " + Object.keys(r.files).map(function (k) { return r.files[k]; }).filter(function (f) { return f.indexOf("report") >= 0; }).join(", "));
    }).catch(function (err) { status(err.message, true); });
  }
  function compareScenarios() {
    var a = document.getElementById("cmp-a").value, b = document.getElementById("cmp-b").value;
    api("GET", "/api/scenarios/compare?a=" + encodeURIComponent(a) + "&b=" + encodeURIComponent(b)).then(function (r) {
      var sign = function (x) { return x > 0 ? "+" + x : String(x); };
      var rows = r.figures.map(function (f) {
        return "<tr" + (f.diff ? ' class="changed"' : "") + "><td>" + f.label + "</td><td>" + f.a + "</td><td>" + f.b + "</td><td>" + sign(f.diff) + "</td></tr>";
      });
      var z = r.zones.map(function (x) { return "<tr><td>" + x.name + "</td><td>" + pct(x.share_a) + "</td><td>" + pct(x.share_b) + "</td><td>" + pct(x.diff) + "</td></tr>"; });
      var only = function (list) { return list.map(function (x) { return x.name; }).join("、 ") || "—"; };
      document.getElementById("comparison").innerHTML = "<table><tr><th>" + L_.figure + "</th><th>A</th><th>B</th><th>" + L_.diff + "</th></tr>" +
        rows.join("") + z.join("") + "</table><p>" + L_.only_in + " A: " + only(r.only_a) + "<br>" + L_.only_in + " B: " + only(r.only_b) + "</p>";
    }).catch(function (err) { status(err.message, true); });
  }

  // ------------------------------------------------------------------ start
  function load() {
    return api("GET", "/api/state").then(function (state) {
      S = state; L_ = state.labels;
      S.zonesById = {}; S.zones.forEach(function (z) { S.zonesById[z.zone_id] = z; });
      if (map) { map.remove(); map = null; layers = {}; demandMarkers = []; ringMarkers = {}; stationMarkers = {}; areaLayers = {}; }
      renderLegend(); buildMap(); buildPanel(); renderAll(); loadScenarios();
      document.title = L_.title;
      window.studio = {map: map, state: function () { return S; }};  // for scripts and tests driving the page
      document.body.dataset.ready = "1";
      loadPendingAreas();
    }).catch(function (err) { document.body.textContent = err.message; });
  }
  load();
})();
