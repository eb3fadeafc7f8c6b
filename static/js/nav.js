// The top bar (templates/base.html): at narrow widths a "Menu" button shows and hides the
// links; the desk switcher closes when you click elsewhere or press Escape. Without this
// script the links simply wrap. No inline script: the Content-Security-Policy allows none.
(function () {
  "use strict";

  const toggle = document.querySelector("[data-nav-toggle]");
  const nav = document.getElementById("site-nav");
  const switchers = () => document.querySelectorAll("details.desk-switcher[open]");

  if (toggle && nav) {
    // The stylesheet hides the links behind the button only when this class is set.
    document.documentElement.classList.add("nav-js");

    const setOpen = (open) => {
      toggle.setAttribute("aria-expanded", String(open));
      nav.classList.toggle("open", open);
    };

    toggle.addEventListener("click", () => {
      setOpen(toggle.getAttribute("aria-expanded") !== "true");
    });

    document.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      const open = switchers();
      if (open.length) {
        open.forEach((details) => { details.open = false; details.querySelector("summary").focus(); });
      } else if (nav.classList.contains("open")) {
        setOpen(false);
        toggle.focus();
      }
    });
  }

  document.addEventListener("click", (event) => {
    switchers().forEach((details) => {
      if (!details.contains(event.target)) details.open = false;
    });
  });
})();
