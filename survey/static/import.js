// Send the file with XMLHttpRequest so the bar can show the upload, then open the import's
// own page; without script the form posts as usual.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.id !== "import-form" || !window.XMLHttpRequest || !window.FormData) return;
  event.preventDefault();
  var bar = document.getElementById("import-progress");
  var status = document.getElementById("import-status");
  bar.hidden = false; bar.removeAttribute("value");
  var xhr = new XMLHttpRequest();
  xhr.open("POST", form.action);
  xhr.setRequestHeader("X-Requested-With", "fetch");
  xhr.upload.onprogress = function (e) {
    if (e.lengthComputable) { bar.max = e.total; bar.value = e.loaded;
      status.textContent = Math.round(100 * e.loaded / e.total) + "% " + status.dataset.sending; }
  };
  xhr.upload.onload = function () { bar.removeAttribute("value"); status.textContent = status.dataset.checking; };
  xhr.onload = function () {
    var answer;
    try { answer = JSON.parse(xhr.responseText); } catch (err) { form.submit(); return; }
    if (answer.location) { window.location = answer.location; return; }
    document.getElementById("import-area").innerHTML = answer.html;
  };
  xhr.onerror = function () { form.submit(); };
  xhr.send(new FormData(form));
});
