// Camera scanning on the filling page where the browser has a QR detector (BarcodeDetector); a handheld
// scanner types the tag URL into the field and works everywhere. The page never needs this script.
(function () {
  var button = document.getElementById('camera-scan'), video = document.getElementById('camera');
  var field = document.getElementById('tag'), form = document.getElementById('filling-check');
  if (!button || !('BarcodeDetector' in window) || !navigator.mediaDevices) return;
  button.hidden = false;
  button.addEventListener('click', function () {
    var detector = new window.BarcodeDetector({formats: ['qr_code']});
    navigator.mediaDevices.getUserMedia({video: {facingMode: 'environment'}}).then(function (stream) {
      video.srcObject = stream;
      video.hidden = false;
      video.play();
      var stop = function () { stream.getTracks().forEach(function (t) { t.stop(); }); video.hidden = true; };
      var tick = function () {
        detector.detect(video).then(function (codes) {
          if (codes.length) { stop(); field.value = codes[0].rawValue; form.submit(); }
          else { window.requestAnimationFrame(tick); }
        }).catch(function () { window.requestAnimationFrame(tick); });
      };
      tick();
    }).catch(function () { button.hidden = true; });
  });
})();
