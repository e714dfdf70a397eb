// Progressive enhancement only: every button works without this file.
// Ask before a destructive button submits.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
});
