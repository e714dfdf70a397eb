// Draw every chart on the page from the figure JSON the server rendered, in the page's language.
(function () {
  var locale = document.documentElement.lang === "zh-CN" ? "zh-CN" : "en";
  document.querySelectorAll(".chart[data-figure]").forEach(function (el) {
    var figure = JSON.parse(el.dataset.figure);
    if (!figure.data.length || !figure.data.some(function (t) { return (t.x || []).length; })) {
      el.classList.add("empty");
      return;
    }
    Plotly.newPlot(el, figure.data, figure.layout, {
      responsive: true,
      displayModeBar: false,
      locale: locale,
    });
  });
})();
