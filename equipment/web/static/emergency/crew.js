/* Crew page: jobs update in place from the live stream (never a page reload, so a tap is never lost),
   actions are sent without leaving the page, a new offer rings and vibrates, the position is reported. */
(function () {
  "use strict";
  var csrf = document.getElementById("duty").dataset.csrf, msg = document.getElementById("position-msg");
  var jobs = document.getElementById("jobs"), audio = null, refreshing = null, again = false;

  function send(lat, lon, acc) {
    return fetch("/crew/position", { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ lat: lat, lon: lon, accuracy_m: acc }) })
      .then(function (r) { return r.json(); })
      .then(function (j) { msg.textContent = j.position_at ? new Date(j.position_at).toLocaleString(document.documentElement.lang || "zh-CN", { hour12: false, timeZone: "Asia/Shanghai" }) : ""; });
  }

  function report() {
    if (!navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition(function (p) { send(p.coords.latitude, p.coords.longitude, p.coords.accuracy); },
      function () {}, { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
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

  function ring() {  /* a new offer: two tones and a vibration (both need a first tap on the page) */
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      [0, 0.3, 0.6].forEach(function (at) {
        var o = audio.createOscillator(), g = audio.createGain();
        o.frequency.value = 988; o.connect(g); g.connect(audio.destination);
        g.gain.setValueAtTime(0.25, audio.currentTime + at);
        o.start(audio.currentTime + at); o.stop(audio.currentTime + at + 0.2);
      });
    } catch (e) { /* no audio device: the banner and the vibration remain */ }
    if (navigator.vibrate) navigator.vibrate([400, 150, 400, 150, 400]);
  }
  document.addEventListener("click", function () { if (!audio) { try { audio = new AudioContext(); } catch (e) {} } }, { once: true });

  function offered() {
    var ids = {};
    jobs.querySelectorAll(".job[data-offer=offered]").forEach(function (j) { ids[j.id] = true; });
    return ids;
  }

  function busy() {  /* the crew is typing a reason or picking a cause: don't pull the form away */
    var a = document.activeElement;
    return (a && jobs.contains(a) && /INPUT|SELECT|TEXTAREA/.test(a.tagName)) || jobs.querySelector("details[open]");
  }

  /* Swap only the cards that changed; a card being filled in is left alone until it is sent. */
  function apply(html) {
    var before = offered(), box = document.createElement("div");
    box.innerHTML = html;
    var fresh = {}, order = [];
    box.querySelectorAll(":scope > section").forEach(function (s) { fresh[s.id] = s; order.push(s); });
    jobs.querySelectorAll(":scope > section").forEach(function (s) { if (!fresh[s.id]) s.remove(); });
    order.forEach(function (s) {
      var old = document.getElementById(s.id);
      if (!old) jobs.appendChild(s);
      else if (old.dataset.version !== s.dataset.version && !old.contains(document.activeElement)) old.replaceWith(s);
      else jobs.appendChild(old);  /* keep the server's order */
    });
    var rang = false;
    Object.keys(offered()).forEach(function (id) {
      if (!before[id]) { document.getElementById(id).classList.add("new"); rang = true; }
    });
    if (rang) { ring(); banner(jobs.dataset.newOffer); }
    tick();
  }

  function banner(text) {
    var b = document.createElement("div");
    b.className = "alert-banner"; b.textContent = text;
    document.body.appendChild(b);
    setTimeout(function () { b.remove(); }, 6000);
  }

  function refresh() {
    if (refreshing) { again = true; return refreshing; }
    if (busy()) { setTimeout(refresh, 800); return null; }
    refreshing = fetch("/crew/jobs", { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw r; return r.text(); })
      .then(apply)
      .catch(function () { setTimeout(refresh, 3000); })  /* server busy or session gone: try again later */
      .then(function () { refreshing = null; if (again) { again = false; refresh(); } });
    return refreshing;
  }

  jobs.addEventListener("submit", function (ev) {
    var form = ev.target, data = new FormData(form);
    ev.preventDefault();
    form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    /* 已到场 needs proof: the phone's position near the unit (or an earlier scan of its tag) */
    if (!/\/arrive$/.test(form.action) || !navigator.geolocation) { post(form, data); return; }
    navigator.geolocation.getCurrentPosition(function (p) {
      data.append("lat", p.coords.latitude); data.append("lon", p.coords.longitude);
      data.append("accuracy_m", p.coords.accuracy); post(form, data);
    }, function () { post(form, data); }, { enableHighAccuracy: true, timeout: 8000, maximumAge: 30000 });
  });

  function post(form, data) {
    var card = form.closest(".job"), out = card && card.querySelector(".job-msg");
    fetch(form.action, { method: "POST", credentials: "same-origin", body: data,
                         headers: { "Accept": "application/json", "X-CSRF-Token": csrf } })
      .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw j; return j; }); })
      .then(function () { if (out) out.textContent = ""; if (document.activeElement) document.activeElement.blur(); return refresh(); })
      .catch(function (err) {
        form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
        var details = err && err.error && err.error.details && err.error.details.arrival;
        if (out) out.textContent = (details && details[0]) || (err && err.error && err.error.message) || jobs.dataset.retry;
      });
  }

  if (window.EventSource) {
    var first = true;
    new window.LiveStream({
      snapshot: function () { if (!first) refresh(); first = false; },
      incident: function () { refresh(); },
      onerror: function () {}
    });
  }
})();
