/* Dispatcher console: live list + map from the server-sent events, alerts for new open incidents only,
   deadline timers, the nearest able crews for a manual assignment, confirmations with a reason. */
(function () {
  "use strict";
  var root = document.getElementById("console");
  var T = JSON.parse(document.getElementById("i18n").textContent);
  var csrf = root.dataset.csrf, causes = root.dataset.causes.split(",");
  var incidents = {}, crews = [], selected = null, audio = null, firstSnapshot = true;
  var OPEN = ["reported", "dispatched", "accepted", "on_site", "released"];
  var map = new window.IncidentMap(document.getElementById("map"), root.dataset.tileUrl, root.dataset.outlines);
  var tbody = document.querySelector("#incidents tbody");
  var dialog = document.getElementById("confirm-dialog");

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { if (k === "class") e.className = attrs[k]; else e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function clock(d) {  /* times are shown in Asia/Shanghai, whatever the browser's own zone */
    return d.toLocaleTimeString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai" });
  }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k] !== undefined ? values[k] : ""; });
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

  function isOpen(inc) { return OPEN.indexOf(inc.status) >= 0; }

  function alertNew(inc) {
    if (!isOpen(inc)) return;  /* a closed incident never alerts, however late its news arrives */
    beep();
    var b = el("div", { "class": "alert-banner", id: "alert-" + inc.id },
      "96333 #" + inc.id + " " + (T.kind[inc.kind] || "") + " " + (inc.address || "") + "（" + (T.source[inc.source] || inc.source) + "）");
    document.body.appendChild(b);
    setTimeout(function () { b.remove(); }, 8000);
    document.title = "(!) " + document.title.replace(/^\(!\) /, "");
  }
  window.addEventListener("focus", function () { document.title = document.title.replace(/^\(!\) /, ""); });

  function fmt(s) {
    var a = Math.abs(s), m = Math.floor(a / 60), r = a % 60;
    return (s < 0 ? "-" : "") + m + ":" + (r < 10 ? "0" : "") + r;
  }

  function offerActive(inc) { return inc.offer_status === "offered" || inc.offer_status === "accepted"; }

  /* What the row says: never "dispatched" when no crew holds the job. */
  function phase(inc) {
    if (inc.status === "reported" || inc.status === "dispatched") {
      if (inc.offer_status === "offered") return { text: T.status.dispatched + " · " + T.awaiting, cls: "dispatched" };
      if (inc.status === "dispatched")
        return { text: T.no_crew + (inc.fire_notified_at ? " · " + T.fire_notified : ""), cls: "no_crew" };
    }
    return { text: (T.status[inc.status] || inc.status) + (inc.fire_notified_at ? " · " + T.fire_notified : ""), cls: inc.status };
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
      var s = Math.round((new Date(t.dataset.deadline).getTime() - Date.now()) / 1000);
      t.textContent = (t.dataset.kind === "accept" ? T.accept_by : T.arrive_by) + " " + (s < 0 ? T.overdue + " " : "") + fmt(s);
      t.classList.toggle("late", s < 0);
    });
  }

  function button(label, action, id, cls, onclick) {
    var b = el("button", { type: "button", "data-action": action, "data-id": id, "class": cls || "" }, label);
    b.addEventListener("click", function (ev) { ev.stopPropagation(); onclick(); });
    return b;
  }

  function actions(inc) {
    var td = el("td", { "class": "actions" }), id = inc.id;
    var rescue = inc.kind !== "fault";  // a fault notice (故障) went to the maintenance unit: no dispatch, no ladder
    if (inc.verified === false && isOpen(inc))  /* the first thing to do with a scan-page report: call back, confirm */
      td.appendChild(button(T.action.verify, "verify", id, "", function () { verify(inc); }));
    if (rescue && (inc.status === "reported" || inc.status === "dispatched")) {
      if (inc.offer_status === "offered")
        td.appendChild(button(T.action.reassign, "dispatch", id, "", function () { reassign(inc, null); }));
      else td.appendChild(button(T.action.dispatch, "dispatch", id, "", function () { act(id, "dispatch", {}); }));
    }
    if (rescue && isOpen(inc) && inc.status !== "released" && !inc.fire_notified_at)
      td.appendChild(button(T.action.escalate, "escalate", id, "danger", function () { withReason(inc, "escalate"); }));
    (inc.allowed_actions || []).forEach(function (a) {
      if (a === "close" && rescue) {
        var sel = el("select", { "data-cause-for": id });
        sel.appendChild(el("option", { value: "", disabled: "", selected: "" }, T.choose_cause));
        causes.forEach(function (c) { sel.appendChild(el("option", { value: c }, T.cause[c] || c)); });
        sel.addEventListener("click", function (ev) { ev.stopPropagation(); });
        td.appendChild(sel);
        td.appendChild(button(T.action.close, "close", id, "", function () {
          if (!sel.value) { sel.focus(); sel.classList.add("invalid"); return; }
          act(id, "close", { cause: sel.value });
        }));
      } else if (a === "false_alarm" || a === "cancel") {
        td.appendChild(button(T.action[a], a, id, "secondary", function () { withReason(inc, a); }));
      } else if (a !== "accept" || inc.offer_status === "offered") {
        td.appendChild(button(T.action[a] || a, a, id, "", function () { act(id, a, {}); }));
      }
    });
    return td;
  }

  function row(inc) {
    var ph = phase(inc), tr = el("tr", { id: "inc-" + inc.id, "data-status": inc.status, "data-phase": ph.cls, "data-kind": inc.kind || "rescue" });
    if (inc.arrival_overdue) tr.classList.add("overdue");
    if (inc.id === selected) tr.classList.add("selected");
    tr.appendChild(el("td", {}, "#" + inc.id));
    var unit = el("td"), head = el("div");
    head.appendChild(el("span", { "class": "kind " + (inc.kind || "rescue") }, T.kind[inc.kind || "rescue"]));
    head.appendChild(el("span", { "class": "family" }, T.family[inc.family] || ""));
    if (inc.verified === false) head.appendChild(el("span", { "class": "kind unverified" }, T.unverified));
    head.appendChild(document.createTextNode(" " + (inc.address || "")));
    unit.appendChild(head);
    unit.appendChild(el("small", { "class": "muted" }, [inc.rescue_code ? "96333 " + inc.rescue_code : "", T.source[inc.source] || inc.source,
      said(inc.reason), inc.caller_phone ? T.caller + " " + inc.caller_phone : "", inc.signals > 1 ? "×" + inc.signals : ""].filter(Boolean).join(" · ")));
    tr.appendChild(unit);
    var holds = offerActive(inc) || ["accepted", "on_site", "released"].indexOf(inc.status) >= 0;
    tr.appendChild(el("td", {}, "L" + inc.level + (inc.crew && holds ? " · " + inc.crew.name : "")));
    var st = el("td"); st.appendChild(el("span", { "class": "istatus " + ph.cls }, ph.text));
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
    if (tbody.contains(document.activeElement) && document.activeElement.tagName === "SELECT") return;  /* picking a cause */
    tbody.textContent = "";
    list.forEach(function (inc) { var tr = row(inc); if (flashing[tr.id]) tr.classList.add("new"); tbody.appendChild(tr); });
    document.getElementById("count").textContent = list.length;
    map.update(list, crews, selected);
    tick();
  }

  function upsert(inc, isNew) {
    if (!isOpen(inc)) delete incidents[inc.id]; else incidents[inc.id] = inc;
    render();
    if (isNew && isOpen(inc)) { var tr = document.getElementById("inc-" + inc.id); if (tr) tr.classList.add("new"); alertNew(inc); }
    if (inc.id === selected) { history(inc.id); choices(inc.id); }
  }

  function select(id) { selected = id; render(); history(id); choices(id); }

  function history(id) {
    fetch("/api/v1/incidents/" + id, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (inc) {
      var ol = document.getElementById("history"); ol.textContent = "";
      document.getElementById("history-title").textContent = "#" + id;
      (inc.events || []).forEach(function (e) {
        var d = new Date(e.at), x = e.data || {};
        var extra = x.crew_name || (x.cause && T.cause[x.cause]) || (x.source && T.source[x.source]) ||
          (x.method && T.verify[x.method]) || said(x.reason) || x.notes || x.to || "";
        ol.appendChild(el("li", {}, clock(d) + " " + (T.ev[e.kind] || T.status[e.kind] || e.kind) +
          " · " + e.actor_name + (extra ? " · " + extra : "")));
      });
    });
  }

  /* A reason is a code from the sensors (event_11, levelled_doors_open) or words a person typed. */
  function said(reason) {
    if (!reason) return "";
    if (T.release[reason]) return T.release[reason];
    var best = "";  /* the longest code that starts it: "public: fault 按钮失灵" -> 故障 按钮失灵 */
    Object.keys(T.reason).forEach(function (k) { if (reason.indexOf(k) === 0 && k.length > best.length) best = k; });
    return best ? T.reason[best] + reason.slice(best.length) : reason;
  }

  function choices(id) {
    var ol = document.getElementById("choices"), inc = incidents[id];
    document.getElementById("choices-title").textContent = "#" + id;
    ol.textContent = "";
    if (!inc || !(inc.status === "reported" || inc.status === "dispatched")) return;
    fetch("/console/incidents/" + id + "/crews", { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (j) {
      ol.textContent = "";
      if (!(j.items || []).length) { ol.appendChild(el("li", { "class": "muted" }, T.none_nearby)); return; }
      j.items.forEach(function (c) {
        var li = el("li", { "data-crew": c.id }), what = el("div");
        what.appendChild(el("strong", {}, c.name || ("#" + c.id)));
        if (c.contracted) what.appendChild(el("span", { "class": "tag" }, T.contracted));
        what.appendChild(el("span", { "class": "muted" }, " " + c.org_name));
        li.appendChild(what);
        li.appendChild(el("small", {}, [T.idle, c.distance_m !== null ? (c.distance_m / 1000).toFixed(1) + " " + T.km : "",
          c.eta_min !== null ? T.eta + " " + c.eta_min + " " + T.minutes : "",
          c.position_at ? T.position_at + " " + clock(new Date(c.position_at)) : ""].filter(Boolean).join(" · ")));
        li.appendChild(button(T.action.assign, "assign", id, "", function () { assign(inc, c); }));
        ol.appendChild(li);
      });
    });
  }

  /* The one confirmation dialog: a question, and a reason when one is required. */
  function confirmWith(text, needReason, then, needMethod) {
    var input = document.getElementById("confirm-reason"), method = document.getElementById("confirm-method");
    document.getElementById("confirm-text").textContent = text;
    document.getElementById("confirm-reason-label").hidden = !needReason;
    document.getElementById("confirm-method-label").hidden = !needMethod;
    input.value = ""; input.required = needReason;
    dialog.returnValue = "";
    dialog.onclose = function () { if (dialog.returnValue === "ok") then(input.value.trim(), method.value); };
    dialog.showModal();
    if (needReason) input.focus();
  }
  document.getElementById("confirm-back").addEventListener("click", function () { dialog.close("back"); });

  function withReason(inc, action) {
    confirmWith(fill(T.confirm[action], { id: inc.id }), true, function (reason) { act(inc.id, action, { reason: reason }); });
  }

  function verify(inc) {
    confirmWith(fill(T.confirm.verify, { id: inc.id }), false, function (notes, method) {
      act(inc.id, "verify", notes ? { method: method, notes: notes } : { method: method });
    }, true);
  }

  function currentCrew(inc) { return (inc.crew && inc.crew.name) || ""; }

  function reassign(inc, crew) {
    confirmWith(fill(T.confirm.reassign, { id: inc.id, crew: currentCrew(inc) }), false, function () {
      act(inc.id, "dispatch", crew ? { crew_id: crew.id, reassign: true } : { reassign: true });
    });
  }

  function assign(inc, crew) {
    if (inc.offer_status === "offered") return reassign(inc, crew);
    confirmWith(fill(T.confirm.assign, { id: inc.id, crew: crew.name }), false, function () { act(inc.id, "dispatch", { crew_id: crew.id }); });
  }

  function post(url, body) {
    return fetch(url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify(body || {}) })
      .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw j; return j; }); });
  }

  function act(id, action, body) {
    post("/console/incidents/" + id + "/" + action, body).then(function (inc) { upsert(inc, false); })
      .catch(function (err) { window.alert((err.error && err.error.message) || T.failed); });
  }

  document.getElementById("new-incident").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var f = ev.target, body = {}, msg = document.getElementById("form-msg");
    ["rescue_code", "caller_phone", "reason"].forEach(function (k) { if (f[k].value) body[k] = f[k].value; });
    post("/console/incidents", body).then(function (inc) { msg.textContent = ""; f.reset(); upsert(inc, false); select(inc.id); })
      .catch(function (err) { msg.textContent = (err.error && err.error.message) || T.failed; });
  });

  function loadCrews() {
    fetch("/console/crews", { credentials: "same-origin" }).then(function (r) { return r.json(); })
      .then(function (j) { crews = j.items || []; map.update(Object.keys(incidents).map(function (k) { return incidents[k]; }), crews, selected); })
      .catch(function () {});
  }

  var live = document.getElementById("live");
  new window.LiveStream({
    onopen: function () { live.classList.remove("off"); live.textContent = T.live; },
    onerror: function () { live.classList.add("off"); live.textContent = T.offline; },
    snapshot: function (list) {
      var known = incidents; incidents = {};
      list.forEach(function (inc) { incidents[inc.id] = inc; });
      render();
      if (!firstSnapshot) Object.keys(incidents).forEach(function (k) { if (!known[k]) alertNew(incidents[k]); });
      var wanted = /^#inc-(\d+)$/.exec(window.location.hash);  /* arrived from a report or a link: open that one */
      if (firstSnapshot && wanted && incidents[wanted[1]]) select(Number(wanted[1]));
      firstSnapshot = false;
    },
    incident: function (inc) {
      live.classList.remove("off"); live.textContent = T.live;
      upsert(inc, !incidents[inc.id] && (inc.changes || []).indexOf("reported") >= 0);
    }
  });
  loadCrews();
  setInterval(loadCrews, 10000);
  setInterval(tick, 1000);
})();
