/* Dispatcher console: live list + map over server-sent events, alerts, deadline timers, one-click actions. */
(function () {
  "use strict";
  var root = document.getElementById("console");
  var T = JSON.parse(document.getElementById("i18n").textContent);
  var csrf = root.dataset.csrf, causes = root.dataset.causes.split(",");
  var incidents = {}, crews = [], selected = null, audio = null, firstSnapshot = true;
  var OPEN = ["reported", "dispatched", "accepted", "on_site", "released"];
  var map = new window.IncidentMap(document.getElementById("map"), root.dataset.tileUrl);
  var tbody = document.querySelector("#incidents tbody");

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { if (k === "class") e.className = attrs[k]; else e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function beep() {  /* WebAudio: two short tones; browsers allow sound after the first click on the page */
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      [0, 0.25].forEach(function (at) {
        var o = audio.createOscillator(), g = audio.createGain();
        o.frequency.value = 880; o.connect(g); g.connect(audio.destination);
        g.gain.setValueAtTime(0.2, audio.currentTime + at);
        o.start(audio.currentTime + at); o.stop(audio.currentTime + at + 0.18);
      });
    } catch (e) { /* no audio device: the visual alert remains */ }
  }
  document.addEventListener("click", function () { if (!audio) { try { audio = new AudioContext(); } catch (e) {} } }, { once: true });

  function alertNew(inc) {
    beep();
    var b = el("div", { "class": "alert-banner", id: "alert-" + inc.id },
      "!! 96333 #" + inc.id + " " + (inc.address || "") + " (" + (T.source[inc.source] || inc.source) + ")");
    document.body.appendChild(b);
    setTimeout(function () { b.remove(); }, 8000);
    document.title = "(!) " + document.title.replace(/^\(!\) /, "");
  }

  function remaining(iso) {
    if (!iso) return null;
    return Math.round((new Date(iso).getTime() - Date.now()) / 1000);
  }
  function fmt(s) {
    var neg = s < 0, a = Math.abs(s), m = Math.floor(a / 60), r = a % 60;
    return (neg ? "-" : "") + m + ":" + (r < 10 ? "0" : "") + r;
  }

  function timers(inc) {
    var td = el("td", { "class": "timers" });
    if (inc.accept_deadline) td.appendChild(el("span", { "class": "timer", "data-deadline": inc.accept_deadline, "data-kind": "accept" }));
    if (inc.arrival_deadline && ["reported", "dispatched", "accepted"].indexOf(inc.status) >= 0)
      td.appendChild(el("span", { "class": "timer", "data-deadline": inc.arrival_deadline, "data-kind": "arrival" }));
    return td;
  }

  function tick() {
    document.querySelectorAll(".timer").forEach(function (t) {
      var s = remaining(t.dataset.deadline);
      t.textContent = (t.dataset.kind === "accept" ? T.accept_by : T.arrive_by) + " " + (s < 0 ? T.overdue + " " : "") + fmt(s);
      t.classList.toggle("late", s < 0);
    });
  }

  function button(inc, action, extra) {
    var b = el("button", { type: "button", "data-action": action, "data-id": inc.id, "class": action === "escalate" ? "danger" : "" },
      T.action[action] || action);
    b.addEventListener("click", function (ev) { ev.stopPropagation(); act(inc.id, action, extra && extra()); });
    return b;
  }

  function actions(inc) {
    var td = el("td", { "class": "actions" });
    if (inc.status === "reported" || inc.status === "dispatched") td.appendChild(button(inc, "dispatch"));
    if (OPEN.indexOf(inc.status) >= 0 && inc.status !== "released" && !inc.fire_notified_at) td.appendChild(button(inc, "escalate"));
    (inc.allowed_actions || []).forEach(function (a) {
      if (a === "close") {
        var sel = el("select", { "data-cause-for": inc.id });
        causes.forEach(function (c) { sel.appendChild(el("option", { value: c }, T.cause[c] || c)); });
        sel.addEventListener("click", function (ev) { ev.stopPropagation(); });
        td.appendChild(sel);
        td.appendChild(button(inc, "close", function () { return { cause: sel.value }; }));
      } else if (a !== "accept" || inc.offer_status === "offered") {
        td.appendChild(button(inc, a));
      }
    });
    return td;
  }

  function row(inc) {
    var tr = el("tr", { id: "inc-" + inc.id, "data-status": inc.status });
    if (inc.arrival_overdue) tr.classList.add("overdue");
    if (inc.id === selected) tr.classList.add("selected");
    tr.appendChild(el("td", {}, "#" + inc.id));
    var unit = el("td");
    unit.appendChild(el("div", {}, inc.address || ""));
    unit.appendChild(el("small", { "class": "muted" }, [inc.rescue_code ? "96333 " + inc.rescue_code : "", T.source[inc.source] || inc.source,
      inc.caller_phone ? T.caller + " " + inc.caller_phone : "", inc.signals > 1 ? "×" + inc.signals : ""].filter(Boolean).join(" · ")));
    tr.appendChild(unit);
    tr.appendChild(el("td", {}, "L" + inc.level + (inc.crew ? " · " + inc.crew.name : "")));
    var st = el("td"); st.appendChild(el("span", { "class": "istatus " + inc.status }, T.status[inc.status] || inc.status));
    tr.appendChild(st);
    tr.appendChild(timers(inc));
    tr.appendChild(actions(inc));
    tr.addEventListener("click", function () { select(inc.id); });
    return tr;
  }

  function render() {
    var list = Object.keys(incidents).map(function (k) { return incidents[k]; })
      .sort(function (a, b) { return a.reported_at < b.reported_at ? 1 : -1; });
    var flashing = {};
    tbody.querySelectorAll("tr.new").forEach(function (tr) { flashing[tr.id] = true; });
    tbody.textContent = "";
    list.forEach(function (inc) { var tr = row(inc); if (flashing[tr.id]) tr.classList.add("new"); tbody.appendChild(tr); });
    document.getElementById("count").textContent = list.length;
    map.update(list, crews, selected);
    tick();
  }

  function upsert(inc, isNew) {
    if (OPEN.indexOf(inc.status) < 0) delete incidents[inc.id]; else incidents[inc.id] = inc;
    render();
    if (isNew) { var tr = document.getElementById("inc-" + inc.id); if (tr) tr.classList.add("new"); alertNew(inc); }
    if (inc.id === selected) history(inc.id);
  }

  function select(id) {
    selected = id; render(); history(id);
  }

  function history(id) {
    fetch("/api/v1/incidents/" + id, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (inc) {
      var ol = document.getElementById("history"); ol.textContent = "";
      document.getElementById("history-title").textContent = "#" + id;
      (inc.events || []).forEach(function (e) {
        var d = new Date(e.at), extra = e.data.channel || e.data.crew_name || e.data.cause || e.data.source || e.data.error || "";
        ol.appendChild(el("li", {}, d.toLocaleTimeString() + " " + (T.status[e.kind] || e.kind) + " · " + e.actor_name + (extra ? " · " + extra : "")));
      });
    });
  }

  function post(url, body) {
    return fetch(url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify(body || {}) })
      .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw j; return j; }); });
  }

  function act(id, action, body) {
    post("/console/incidents/" + id + "/" + action, body).then(function (inc) { upsert(inc, false); })
      .catch(function (err) { window.alert((err.error && err.error.message) || "error"); });
  }

  document.getElementById("new-incident").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var f = ev.target, body = {}, msg = document.getElementById("form-msg");
    ["rescue_code", "caller_phone", "reason"].forEach(function (k) { if (f[k].value) body[k] = f[k].value; });
    post("/console/incidents", body).then(function (inc) { msg.textContent = ""; f.reset(); upsert(inc, false); select(inc.id); })
      .catch(function (err) { msg.textContent = (err.error && err.error.message) || "error"; });
  });

  function loadCrews() {
    fetch("/console/crews", { credentials: "same-origin" }).then(function (r) { return r.json(); })
      .then(function (j) { crews = j.items || []; render(); }).catch(function () {});
  }

  function connect() {
    var live = document.getElementById("live");
    var es = new EventSource("/api/v1/incidents/stream");
    es.onopen = function () { live.classList.remove("off"); live.textContent = T.live; };
    es.onerror = function () { live.classList.add("off"); live.textContent = T.offline; };
    es.addEventListener("snapshot", function (ev) {
      var known = incidents; incidents = {};
      JSON.parse(ev.data).forEach(function (inc) { incidents[inc.id] = inc; });
      render();
      if (!firstSnapshot) Object.keys(incidents).forEach(function (k) { if (!known[k]) alertNew(incidents[k]); });
      firstSnapshot = false;
    });
    es.addEventListener("incident", function (ev) {
      var inc = JSON.parse(ev.data);
      upsert(inc, !incidents[inc.id] && (inc.changes || []).indexOf("reported") >= 0);
    });
  }

  connect();
  loadCrews();
  setInterval(loadCrews, 10000);
  setInterval(tick, 1000);
})();
