/* The /units map view: the filtered units' points drawn by the dispatcher map (emergency/map.js).
   A marker links to the unit's dossier. */
(function () {
  "use strict";
  var el = document.getElementById("units-map");
  if (!el || !window.IncidentMap) return;
  var map = new window.IncidentMap(el, el.dataset.tiles || "");
  fetch(el.dataset.points, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { return r.json(); })
    .then(function (data) {
      map.update(data.items, [], null);
      el.querySelectorAll(".marker.incident").forEach(function (m) {
        var unit = data.items.filter(function (u) { return String(u.id) === m.dataset.incident; })[0];
        if (unit) m.title = unit.address + " · " + unit.level;
        m.classList.add("unit-" + (unit ? unit.status : ""));
        m.addEventListener("click", function () { window.location.href = "/units/" + m.dataset.incident; });
      });
      el.dataset.loaded = String(data.items.length);
    });
})();
