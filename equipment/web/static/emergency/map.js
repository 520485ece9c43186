/* A dependency-free slippy map: Web Mercator markers, raster tiles only when a tile URL is configured
   (天地图, 高德 or the operator's own tile server). Without one, district outlines and names from a bundled
   GeoJSON (EQUIPMENT_MAP_OUTLINES) are drawn under the markers, so the map is never a bare grid. */
(function () {
  "use strict";
  var TILE = 256;

  function project(lat, lon, z) {
    var s = TILE * Math.pow(2, z), r = lat * Math.PI / 180;
    return { x: (lon + 180) / 360 * s, y: (1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2 * s };
  }

  function fitZoom(points, w, h, maxZoom) {
    for (var z = maxZoom || 17; z > 2; z--) {
      var xs = points.map(function (p) { return project(p.lat, p.lon, z).x; });
      var ys = points.map(function (p) { return project(p.lat, p.lon, z).y; });
      if (Math.max.apply(null, xs) - Math.min.apply(null, xs) < w * 0.8 &&
          Math.max.apply(null, ys) - Math.min.apply(null, ys) < h * 0.8) return z;
    }
    return 3;
  }

  function IncidentMap(el, tileUrl, outlinesUrl) {
    var self = this;
    this.el = el; this.tileUrl = tileUrl; this.outlines = null; this.last = null;
    if (!tileUrl && outlinesUrl && window.fetch) {
      fetch(outlinesUrl, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
        .then(function (geo) {
          if (!geo || !geo.features) return;
          self.outlines = geo.features;
          if (self.last) self.update.apply(self, self.last);
        }).catch(function () { /* no outlines: markers alone */ });
    }
  }

  var SVG = "http://www.w3.org/2000/svg";

  function rings(geometry) {
    if (geometry.type === "Polygon") return geometry.coordinates;
    if (geometry.type === "MultiPolygon") return [].concat.apply([], geometry.coordinates);
    return [];
  }

  IncidentMap.prototype.drawOutlines = function (z, ox, oy, w, h) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "outlines"); svg.setAttribute("width", w); svg.setAttribute("height", h);
    this.outlines.forEach(function (f) {
      var d = rings(f.geometry).map(function (ring) {
        return "M" + ring.map(function (c) { var q = project(c[1], c[0], z); return (q.x - ox).toFixed(1) + "," + (q.y - oy).toFixed(1); }).join("L") + "Z";
      }).join("");
      var path = document.createElementNS(SVG, "path");
      path.setAttribute("d", d); svg.appendChild(path);
      var c = f.properties.center;
      if (c) {
        var q = project(c[1], c[0], z), label = document.createElementNS(SVG, "text");
        label.setAttribute("x", (q.x - ox).toFixed(1)); label.setAttribute("y", (q.y - oy).toFixed(1));
        label.textContent = f.properties.name; svg.appendChild(label);
      }
    });
    this.el.appendChild(svg);
  };

  IncidentMap.prototype.update = function (incidents, crews, selected) {
    this.last = [incidents, crews, selected];
    var el = this.el, w = el.clientWidth || 400, h = el.clientHeight || 300;
    var pts = [];
    incidents.forEach(function (i) {
      if (!i.location) return;
      /* what a dispatcher says on the phone: the 96333 code, else another code; the address on hover */
      var code = i.rescue_code || i.code || i.device_code || i.registration_code || "";
      pts.push({ lat: i.location.lat, lon: i.location.lon, kind: "incident", id: i.id, code: code,
                 address: i.unit_address || i.address || "" });
    });
    crews.forEach(function (c) { if (c.location) pts.push({ lat: c.location.lat, lon: c.location.lon, kind: "crew", id: c.id, name: c.name }); });
    el.textContent = "";
    var city = (this.outlines || []).filter(function (f) { return f.properties.center; }).map(function (f) {
      return { lat: f.properties.center[1], lon: f.properties.center[0] };
    });
    if (!pts.length && !city.length) { el.classList.add("empty"); return; }
    el.classList.remove("empty");
    var focus = pts.filter(function (p) { return p.kind === "incident"; });
    if (!focus.length && !pts.length) focus = city;  /* nothing to show yet: the city itself */
    /* with district outlines, never closer than a district's scale: the dispatcher sees where it is */
    var z = fitZoom(focus.length ? focus : pts, w, h, this.outlines ? 12 : 17);
    var cx = 0, cy = 0;
    (focus.length ? focus : pts).forEach(function (p) { var q = project(p.lat, p.lon, z); cx += q.x; cy += q.y; });
    var n = (focus.length ? focus : pts).length || 1; cx /= n; cy /= n;
    var ox = cx - w / 2, oy = cy - h / 2;
    if (this.tileUrl) this.drawTiles(z, ox, oy, w, h);
    else if (this.outlines) this.drawOutlines(z, ox, oy, w, h);
    pts.forEach(function (p) {
      var q = project(p.lat, p.lon, z), m = document.createElement("div");
      var x = q.x - ox, y = q.y - oy;
      if (x < -10 || y < -10 || x > w + 10 || y > h + 10) return;
      m.className = "marker " + p.kind + (p.kind === "incident" && p.id === selected ? " selected" : "");
      m.style.left = x + "px"; m.style.top = y + "px";
      if (p.kind === "incident") {
        m.textContent = p.code || "#" + p.id; m.dataset.incident = p.id;
        m.title = [p.code, p.address].filter(Boolean).join(" · ") || "#" + p.id;
      } else {  /* the crew's name beside its dot */
        var name = document.createElement("span");
        name.className = "name"; name.textContent = p.name || ""; m.appendChild(name);
        m.title = p.name || "";
      }
      el.appendChild(m);
    });
  };

  IncidentMap.prototype.drawTiles = function (z, ox, oy, w, h) {
    var max = Math.pow(2, z);
    for (var tx = Math.floor(ox / TILE); tx <= Math.floor((ox + w) / TILE); tx++) {
      for (var ty = Math.floor(oy / TILE); ty <= Math.floor((oy + h) / TILE); ty++) {
        if (ty < 0 || ty >= max) continue;
        var img = document.createElement("img");
        img.className = "tile"; img.alt = "";
        img.src = this.tileUrl.replace("{z}", z).replace("{x}", ((tx % max) + max) % max).replace("{y}", ty);
        img.style.left = (tx * TILE - ox) + "px"; img.style.top = (ty * TILE - oy) + "px";
        img.onerror = function () { this.remove(); };  /* tile server down: the markers stay */
        this.el.appendChild(img);
      }
    }
  };

  window.IncidentMap = IncidentMap;
})();
