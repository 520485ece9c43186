/* One live connection to /api/v1/incidents/stream for the console and the crew page.
   EventSource gives up for good on an HTTP error (a 503 when the server is full) and retries a dropped
   connection at a fixed pace; this wrapper reconnects after any error with a growing, jittered delay and
   resumes from the last event seen, so the server replays only what this page missed. */
(function () {
  "use strict";
  var MIN_MS = 1000, MAX_MS = 30000;

  function LiveStream(handlers) {
    this.h = handlers; this.lastId = null; this.delay = MIN_MS; this.es = null; this.timer = null;
    this.open();
  }

  LiveStream.prototype.open = function () {
    var self = this, url = "/api/v1/incidents/stream";
    if (this.lastId) url += "?last_event_id=" + encodeURIComponent(this.lastId);
    var es = this.es = new EventSource(url);
    function track(ev) { if (ev.lastEventId) self.lastId = ev.lastEventId; self.delay = MIN_MS; }
    es.onopen = function () { if (self.h.onopen) self.h.onopen(); };
    es.onerror = function () { self.retry(); };
    es.addEventListener("snapshot", function (ev) { track(ev); self.h.snapshot(JSON.parse(ev.data)); });
    es.addEventListener("incident", function (ev) { track(ev); self.h.incident(JSON.parse(ev.data)); });
  };

  LiveStream.prototype.retry = function () {
    if (this.timer) return;
    if (this.es) this.es.close();  /* our own schedule, whatever state EventSource is in */
    if (this.h.onerror) this.h.onerror();
    var self = this, wait = this.delay * (0.5 + Math.random());
    this.delay = Math.min(this.delay * 2, MAX_MS);
    this.timer = setTimeout(function () { self.timer = null; self.open(); }, wait);
  };

  window.LiveStream = LiveStream;
})();
