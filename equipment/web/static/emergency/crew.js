/* Crew page: position report from the browser's geolocation, countdowns, refresh when jobs change. */
(function () {
  "use strict";
  var csrf = document.getElementById("duty").dataset.csrf, msg = document.getElementById("position-msg");

  function send(lat, lon, acc) {
    return fetch("/crew/position", { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ lat: lat, lon: lon, accuracy_m: acc }) })
      .then(function (r) { return r.json(); })
      .then(function (j) { msg.textContent = j.position_at ? new Date(j.position_at).toLocaleTimeString() : ""; });
  }

  function report() {
    if (!navigator.geolocation) { msg.textContent = "no geolocation"; return; }
    navigator.geolocation.getCurrentPosition(function (p) { send(p.coords.latitude, p.coords.longitude, p.coords.accuracy); },
      function (e) { msg.textContent = e.message; }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
  }
  document.getElementById("report-position").addEventListener("click", report);
  /* while on duty, keep the dispatcher's picture fresh */
  if (document.querySelector("#duty-state.accepted")) setInterval(report, 60000);

  function tick() {
    document.querySelectorAll(".timer").forEach(function (t) {
      var s = Math.round((new Date(t.dataset.deadline).getTime() - Date.now()) / 1000), a = Math.abs(s);
      t.textContent = (s < 0 ? "-" : "") + Math.floor(a / 60) + ":" + ("0" + a % 60).slice(-2);
      t.classList.toggle("late", s < 0);
    });
  }
  setInterval(tick, 1000); tick();

  /* New offers arrive over the same live stream the console uses (scoped to this crew's jobs). */
  if (window.EventSource) {
    var es = new EventSource("/api/v1/incidents/stream"), first = true;
    es.addEventListener("snapshot", function () { if (!first) location.reload(); first = false; });
    es.addEventListener("incident", function () { location.reload(); });
  }
})();
