// What every page does, kept out of the markup: the Content-Security-Policy allows no
// inline script, event handler or style attribute (README.md, "Content-Security-Policy").
(function () {
  "use strict";

  // Rating colours: data-hl="#rrggbb" becomes the --hl custom property the stylesheets
  // read (a style attribute would need 'unsafe-inline'; setting it from a script does not).
  const colour = /^#[0-9a-fA-F]{6}$/;
  function applyColours(root) {
    root.querySelectorAll("[data-hl]").forEach((el) => {
      if (colour.test(el.dataset.hl)) el.style.setProperty("--hl", el.dataset.hl);
    });
  }
  applyColours(document);
  // For scripts that swap in server-rendered fragments (the reader's side panel).
  window.deskPage = Object.freeze({ applyColours: applyColours });

  // Forms that ask first: <form data-confirm="Delete this draft claim?">.
  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });

  // Logging out leaves no claim drafts behind in this browser (static/js/editor.js keeps them).
  document.addEventListener("submit", (event) => {
    if (event.defaultPrevented || !/\/logout\/$/.test(event.target.getAttribute("action") || "")) return;
    try {
      Object.keys(window.localStorage)
        .filter((key) => key.startsWith("desk:claim-draft:"))
        .forEach((key) => window.localStorage.removeItem(key));
    } catch (e) { /* storage switched off: nothing was kept */ }
  });
})();
