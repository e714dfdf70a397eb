// Poll a background job (an import, an export) while it runs and move its bar; once it has
// finished, reload the page to show the result. Without script the page has a refresh link.
(function () {
  var card = document.querySelector("[data-progress-url]");
  if (!card || card.dataset.finished === "yes" || !window.fetch) return;
  var bar = document.getElementById("job-progress");
  var numbers = document.getElementById("job-numbers");
  var refresh = document.getElementById("job-refresh");
  if (refresh) refresh.hidden = true;
  function poll() {
    fetch(card.dataset.progressUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (p) {
        if (p.finished) { window.location.reload(); return; }
        bar.max = p.total_rows || 1; bar.value = p.done_rows;
        // The sentence's {names}: the job's own figures, and its counts (an import's added, …).
        var values = Object.assign({}, p, p.counts || {});
        numbers.textContent = numbers.dataset.template.replace(/\{(\w+)\}/g, function (m, k) {
          var v = values[k];
          return typeof v === "number" ? v.toLocaleString("en-US") : v;  // 1,000,000
        });
        setTimeout(poll, 700);
      })
      .catch(function () { if (refresh) refresh.hidden = false; });
  }
  setTimeout(poll, 500);
})();
