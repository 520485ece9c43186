/* A dependency-free slippy map: Web Mercator markers, raster tiles only when a tile URL is configured.
   With no tile server the same projection draws a plain scatter of incidents and crews. */
(function () {
  "use strict";
  var TILE = 256;

  function project(lat, lon, z) {
    var s = TILE * Math.pow(2, z), r = lat * Math.PI / 180;
    return { x: (lon + 180) / 360 * s, y: (1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2 * s };
  }

  function fitZoom(points, w, h) {
    for (var z = 17; z > 2; z--) {
      var xs = points.map(function (p) { return project(p.lat, p.lon, z).x; });
      var ys = points.map(function (p) { return project(p.lat, p.lon, z).y; });
      if (Math.max.apply(null, xs) - Math.min.apply(null, xs) < w * 0.8 &&
          Math.max.apply(null, ys) - Math.min.apply(null, ys) < h * 0.8) return z;
    }
    return 3;
  }

  function IncidentMap(el, tileUrl) { this.el = el; this.tileUrl = tileUrl; }

  IncidentMap.prototype.update = function (incidents, crews, selected) {
    var el = this.el, w = el.clientWidth || 400, h = el.clientHeight || 300;
    var pts = [];
    incidents.forEach(function (i) { if (i.location) pts.push({ lat: i.location.lat, lon: i.location.lon, kind: "incident", id: i.id, level: i.level }); });
    crews.forEach(function (c) { if (c.location) pts.push({ lat: c.location.lat, lon: c.location.lon, kind: "crew", id: c.id, name: c.name }); });
    el.textContent = "";
    if (!pts.length) { el.classList.add("empty"); return; }
    el.classList.remove("empty");
    var focus = pts.filter(function (p) { return p.kind === "incident"; });
    var z = fitZoom(focus.length ? focus : pts, w, h);
    var cx = 0, cy = 0;
    (focus.length ? focus : pts).forEach(function (p) { var q = project(p.lat, p.lon, z); cx += q.x; cy += q.y; });
    var n = (focus.length ? focus : pts).length; cx /= n; cy /= n;
    var ox = cx - w / 2, oy = cy - h / 2;
    if (this.tileUrl) this.drawTiles(z, ox, oy, w, h);
    pts.forEach(function (p) {
      var q = project(p.lat, p.lon, z), m = document.createElement("div");
      var x = q.x - ox, y = q.y - oy;
      if (x < -10 || y < -10 || x > w + 10 || y > h + 10) return;
      m.className = "marker " + p.kind + (p.kind === "incident" && p.id === selected ? " selected" : "");
      m.style.left = x + "px"; m.style.top = y + "px";
      m.title = p.kind === "incident" ? "#" + p.id + " L" + p.level : (p.name || "crew " + p.id);
      if (p.kind === "incident") { m.textContent = p.id; m.dataset.incident = p.id; }
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
