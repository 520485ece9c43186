// Fills the form's hidden lat/lon from the phone's position (proof of presence); the form works without it.
(function () {
  var lat = document.getElementById('lat'), lon = document.getElementById('lon');
  if (!lat || !lon || !navigator.geolocation) return;
  navigator.geolocation.getCurrentPosition(function (p) {
    lat.value = p.coords.latitude;
    lon.value = p.coords.longitude;
  }, function () {}, {enableHighAccuracy: true, timeout: 10000});
})();
