// A one-time link or key is selected whole on a click, ready to copy.
document.addEventListener("click", function (event) {
  if (event.target.classList && event.target.classList.contains("link-box")) event.target.select();
});
