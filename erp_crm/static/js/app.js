// Confirmation for destructive buttons: <button data-confirm="...">. No inline scripts (CSP).
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const message = button && button.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});
// htmx requests carry the CSRF token from the page's meta tag.
document.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) {
    event.detail.headers["X-CSRFToken"] = meta.content;
  }
});
// "Select all" checkboxes: <input type="checkbox" data-check-all="client_ids">.
document.addEventListener("change", (event) => {
  const name = event.target.dataset && event.target.dataset.checkAll;
  if (!name) {
    return;
  }
  document.querySelectorAll(`input[type="checkbox"][name="${name}"]`).forEach((box) => {
    box.checked = event.target.checked;
  });
});
