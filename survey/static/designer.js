// Progressive enhancement only: every button works without this file.
// Ask before a destructive button submits.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
});

// Drag a question by its handle to reorder the draft. Pointer events serve mouse, pen and touch
// alike; on release the new order is posted with the form the ↑ ↓ buttons use (its CSRF token and
// the draft's lock version), so a drag is saved, or refused on a conflict, exactly like a click.
function sortable(list) {
  const form = document.getElementById(list.dataset.sortable);
  if (!form || !form.dataset.orderUrl) return;
  const rows = () => [...list.querySelectorAll(":scope > li[data-id]")];
  const order = () => rows().map((row) => row.dataset.id).join(",");

  for (const handle of list.querySelectorAll(".drag-handle")) {
    handle.hidden = false;
    handle.addEventListener("pointerdown", (down) => {
      if (down.button !== 0) return;
      down.preventDefault();
      const row = handle.closest("li");
      const before = order();
      row.classList.add("dragging");

      const move = (event) => {
        const below = rows().find((other) => {
          if (other === row) return false;
          const box = other.getBoundingClientRect();
          return event.clientY < box.top + box.height / 2;
        });
        if (below) list.insertBefore(row, below);
        else list.appendChild(row);
      };
      const drop = () => {
        document.removeEventListener("pointermove", move);
        document.removeEventListener("pointerup", drop);
        document.removeEventListener("pointercancel", drop);
        row.classList.remove("dragging");
        if (order() === before) return;
        // setAttribute: the form's buttons are named "action", which shadows form.action.
        form.setAttribute("action", form.dataset.orderUrl);
        form.querySelector("input[name=order]").value = order();
        form.submit();
      };
      // Listened for on the document, so the pointer may leave the handle while it drags.
      document.addEventListener("pointermove", move);
      document.addEventListener("pointerup", drop);
      document.addEventListener("pointercancel", drop);
    });
  }
}

document.querySelectorAll("ol[data-sortable]").forEach(sortable);
