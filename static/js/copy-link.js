// Copy buttons: <button data-copy="ID" hidden> copies the value of the input #ID. Without JavaScript the button stays
// hidden and the readonly input is there to select and copy by hand.
(function () {
  function copy(button) {
    var input = document.getElementById(button.getAttribute("data-copy"));
    if (!input) return;
    var done = function () {
      var status = document.getElementById(button.getAttribute("data-copy") + "-status");
      if (status) status.textContent = "Copied to the clipboard.";
      button.textContent = "Copied";
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () { input.select(); });
    } else {
      input.select();
      try { if (document.execCommand("copy")) done(); } catch (e) { /* the text stays selected to copy by hand */ }
    }
  }
  function wire(root) {
    root.querySelectorAll("button[data-copy]").forEach(function (button) { button.hidden = false; });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (button) { event.preventDefault(); copy(button); }
  });
  document.addEventListener("focusin", function (event) {
    if (event.target.matches("input[data-select-on-focus]")) event.target.select();
  });
  document.addEventListener("DOMContentLoaded", function () { wire(document); });
  document.addEventListener("htmx:afterSwap", function (event) { wire(event.target); });
})();
