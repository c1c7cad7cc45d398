// fedlookup desk: the console's only script (no inline script anywhere; CSP forbids it).
// Progressive enhancement: every page works without it.
(function () {
  "use strict";
  // Preview page: changing the encoding, delimiter or a column re-reads the list at once.
  document.querySelectorAll("select.autosubmit").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  // Check page: poll the API while the check is queued or running, then reload.
  var status = document.getElementById("status");
  if (!status) { return; }
  var waiting = ["queued", "running", "awaiting_approval"];
  if (waiting.indexOf(status.dataset.status) < 0) { return; }
  var bar = document.getElementById("progress");
  function poll() {
    fetch("/api/v1/checks/" + status.dataset.check, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (check) {
        if (!check) { return; }
        if (bar) { bar.value = check.done; bar.textContent = check.done + " / " + check.items; }
        if (check.status !== status.dataset.status || waiting.indexOf(check.status) < 0) {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, 700);
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 300);
})();
