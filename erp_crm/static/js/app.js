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
// A JSON POST with the page's CSRF token, for the board and the calendar: resolves to
// {ok: true, body} when the answer is 2xx and carries `expected`, else {ok: false, message} with
// the server's Russian message or the page's fallback for the status.
window.postJson = async function (url, payload, expected, fallback) {
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) {
    headers["X-CSRFToken"] = meta.content;
  }
  const response = await fetch(url, {
    method: "POST",
    headers,
    body: JSON.stringify(payload),
    credentials: "same-origin",
  });
  let body = null;
  try {
    body = await response.json();
  } catch (_error) {
    body = null; // an HTML page: the login form after an expired session, an error page
  }
  if (response.ok && body && body[expected]) {
    return { ok: true, body };
  }
  const status = response.redirected ? 401 : response.status;
  const message = (body && body.error && body.error.message) || fallback[status] || fallback[500];
  return { ok: false, message };
};
// Long selects become searchable (Tom Select from npm): <select data-searchable="placeholder">.
// The native select stays the form's field, so the page works the same without scripts.
function makeSearchable(root) {
  if (typeof TomSelect === "undefined") {
    return;
  }
  root.querySelectorAll("select[data-searchable]").forEach((select) => {
    if (select.tomselect) {
      return;
    }
    new TomSelect(select, {
      // The search box sits in the dropdown: the control keeps its height while one types, so
      // the buttons below do not jump away from the pointer when it closes.
      plugins: ["dropdown_input"],
      maxOptions: null,
      allowEmptyOption: true,
      placeholder: select.dataset.searchable,
      render: { no_results: () => '<div class="no-results">Ничего не найдено</div>' },
    });
  });
}
document.addEventListener("DOMContentLoaded", () => makeSearchable(document));
document.addEventListener("htmx:load", (event) => makeSearchable(event.target));

// A choice that another field of the form may not repeat: <select data-excludes="to_user_ids">.
// The same value is disabled (and unpicked) there — whose clients are handed over is not one of
// their recipients. The server refuses it anyway; this only keeps the form from offering it.
function applyExcludes(select) {
  const other = select.form && select.form.elements[select.dataset.excludes];
  if (!other || !other.options) {
    return;
  }
  for (const option of other.options) {
    const same = option.value !== "" && option.value === select.value;
    option.disabled = same;
    if (same) {
      option.selected = false;
    }
  }
}
document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-excludes]")) {
    applyExcludes(event.target);
  }
});
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("select[data-excludes]").forEach(applyExcludes);
});
