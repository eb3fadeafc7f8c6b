// The reviewer's page shows the whole article: bring the claim under review into view,
// on arrival and from the "Go to the claim" link, and put keyboard focus on the text.
(function () {
  "use strict";

  const text = document.querySelector(".review-article");
  if (!text) return;
  const first = text.querySelector(".seg.hl");

  function showClaim(focus) {
    if (!first) return;
    first.classList.add("active");
    first.scrollIntoView({ block: "center" });
    if (focus) text.focus({ preventScroll: true });
  }

  document.querySelectorAll("[data-action=show-claim]").forEach((link) =>
    link.addEventListener("click", (event) => {
      event.preventDefault();
      showClaim(true);
    }));
  showClaim(false);
})();
