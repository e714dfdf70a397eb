// Poll the job while it runs and move the bar; once it has finished, show the full result.
(function () {
  var card = document.getElementById("import-job");
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
        var values = {done_rows: p.done_rows, total_rows: p.total_rows, errors: p.errors,
          created: p.counts.created, updated: p.counts.updated, unchanged: p.counts.unchanged};
        numbers.textContent = numbers.dataset.template.replace(/\{(\w+)\}/g, function (m, k) { return values[k]; });
        setTimeout(poll, 700);
      })
      .catch(function () { if (refresh) refresh.hidden = false; });
  }
  setTimeout(poll, 500);
})();
