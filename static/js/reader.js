// The article reader: selection -> W3C selectors, highlights <-> claim panel, shortcuts.
//
// The server renders the text as <span class="seg" data-s="N"> pieces, N being the
// piece's offset in Unicode code points. The browser counts UTF-16 code units, so a
// DOM position is turned into code points here: the piece's N plus the code points of
// the text before the position within the piece. An emoji before a selection thus
// shifts nothing.
(function () {
  "use strict";

  const reader = document.querySelector(".reader");
  if (!reader) return;
  const article = reader.querySelector(".article-text");
  const popover = document.getElementById("mark-popover");
  const toast = document.getElementById("reader-error");
  const help = document.getElementById("help");
  const items = Array.from(reader.querySelectorAll(".claim-item"));
  const codePoints = Array.from(article.textContent);
  let pending = null; // selectors of the current selection, or null
  let current = -1; // index in items of the claim in focus

  function countCodePoints(s) {
    let n = 0;
    for (const _ of s) n++;
    return n;
  }

  function segOffset(seg) {
    return parseInt(seg.dataset.s, 10);
  }

  // A DOM boundary point (node, offset) inside the article -> code-point offset.
  function toCodePoint(node, offset) {
    if (node.nodeType === Node.TEXT_NODE) {
      const seg = node.parentElement.closest(".seg");
      return segOffset(seg) + countCodePoints(node.data.slice(0, offset));
    }
    if (node === article) {
      const child = article.children[offset];
      return child ? segOffset(child) : codePoints.length;
    }
    const seg = node.closest(".seg");
    if (!seg) return null;
    return offset === 0 ? segOffset(seg) : segOffset(seg) + countCodePoints(seg.textContent);
  }

  function selectorsFromSelection() {
    const selection = window.getSelection();
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
    const range = selection.getRangeAt(0);
    if (!article.contains(range.startContainer) || !article.contains(range.endContainer)) return null;
    let start = toCodePoint(range.startContainer, range.startOffset);
    let end = toCodePoint(range.endContainer, range.endOffset);
    if (start === null || end === null) return null;
    // Trim white space at both ends, as the server does.
    while (start < end && /\s/u.test(codePoints[start])) start++;
    while (end > start && /\s/u.test(codePoints[end - 1])) end--;
    if (start >= end) return null;
    return {
      version: parseInt(reader.dataset.version, 10),
      exact: codePoints.slice(start, end).join(""),
      prefix: codePoints.slice(Math.max(0, start - 32), start).join(""),
      suffix: codePoints.slice(end, end + 32).join(""),
      start: start,
      end: end,
      rect: range.getBoundingClientRect(),
    };
  }

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function showError(message) {
    toast.textContent = message; // never innerHTML: messages may quote user text
    toast.hidden = false;
    setTimeout(() => { toast.hidden = true; }, 8000);
  }

  async function postJSON(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    let data = {};
    try { data = await response.json(); } catch (e) { /* not JSON */ }
    if (!response.ok) throw new Error(data.error || `The desk answered ${response.status}; try again.`);
    return data;
  }

  function hidePopover() {
    popover.hidden = true;
  }

  function updatePending() {
    pending = selectorsFromSelection();
    if (!pending) return hidePopover();
    popover.style.left = `${window.scrollX + pending.rect.right - 40}px`;
    popover.style.top = `${window.scrollY + pending.rect.bottom + 6}px`;
    popover.hidden = false;
  }

  async function markClaim() {
    const selectors = pending || selectorsFromSelection();
    if (!selectors) return showError("Select the words of the claim in the article first.");
    const { rect, ...body } = selectors;
    try {
      const claim = await postJSON(reader.dataset.createUrl, body);
      window.location.assign(claim.edit_url);
    } catch (error) {
      showError(error.message);
    }
  }

  async function reattach(button) {
    const selectors = pending || selectorsFromSelection();
    if (!selectors) return showError("Select the new text for this claim in the article first.");
    const item = button.closest(".orphan");
    const url = reader.dataset.reattachUrlTemplate.replace(/\/0\/(reattach\/)?$/, `/${button.dataset.claim}/$1`);
    try {
      await postJSON(url, {
        revision: parseInt(item.dataset.revision, 10),
        exact: selectors.exact, start: selectors.start, end: selectors.end,
      });
      window.location.reload();
    } catch (error) {
      showError(error.message);
    }
  }

  function openClaim(id, { scroll = "panel" } = {}) {
    items.forEach((item, index) => {
      const active = item.dataset.claim === String(id);
      item.classList.toggle("active", active);
      item.querySelector(".claim-details").hidden = !active;
      if (active) current = index;
    });
    article.querySelectorAll(".seg.active").forEach((seg) => seg.classList.remove("active"));
    const segs = Array.from(article.querySelectorAll(".seg.hl")).filter((seg) =>
      seg.dataset.claims.split(" ").includes(String(id)));
    segs.forEach((seg) => seg.classList.add("active"));
    const item = items[current];
    if (scroll === "panel" && item) item.scrollIntoView({ block: "nearest" });
    if (scroll === "text" && segs[0]) segs[0].scrollIntoView({ block: "center" });
  }

  article.addEventListener("mouseup", () => setTimeout(updatePending, 0));
  article.addEventListener("keyup", (event) => { if (event.shiftKey) updatePending(); });
  document.addEventListener("selectionchange", () => {
    if (!selectorsFromSelection()) { pending = null; hidePopover(); }
  });

  article.addEventListener("click", (event) => {
    const seg = event.target.closest(".seg.hl");
    if (!seg || !window.getSelection().isCollapsed) return;
    const ids = seg.dataset.claims.split(" ");
    // On text covered by several claims, a repeated click cycles through them.
    const shown = items[current] ? items[current].dataset.claim : null;
    const next = ids.includes(shown) ? ids[(ids.indexOf(shown) + 1) % ids.length] : ids[ids.length - 1];
    openClaim(next);
  });

  reader.querySelectorAll(".claim-open").forEach((button) =>
    button.addEventListener("click", () => openClaim(button.dataset.claim, { scroll: "text" })));
  reader.querySelectorAll("[data-action=reattach]").forEach((button) =>
    button.addEventListener("click", () => reattach(button)));
  popover.addEventListener("mousedown", (event) => event.preventDefault()); // keep the selection
  popover.querySelector("[data-action=mark]").addEventListener("click", markClaim);
  document.querySelectorAll("[data-action=help]").forEach((b) =>
    b.addEventListener("click", () => { help.hidden = !help.hidden; }));
  help.addEventListener("click", () => { help.hidden = true; });

  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, textarea, select") || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "?") { help.hidden = !help.hidden; event.preventDefault(); return; }
    if (event.key === "Escape") { help.hidden = true; hidePopover(); return; }
    if (event.key === "m") { event.preventDefault(); markClaim(); return; }
    if (!items.length) return;
    if (event.key === "j" || event.key === "k") {
      event.preventDefault();
      const step = event.key === "j" ? 1 : -1;
      const index = current < 0 ? (step > 0 ? 0 : items.length - 1) : (current + step + items.length) % items.length;
      openClaim(items[index].dataset.claim, { scroll: "text" });
      items[index].focus({ preventScroll: true });
      return;
    }
    if ((event.key === "Enter" || event.key === "o") && current >= 0) {
      event.preventDefault();
      window.location.assign(reader.dataset.editUrlTemplate.replace(/\/0\/$/, `/${items[current].dataset.claim}/`));
    }
  });

  // Arriving at #claim-N (e.g. after saving) opens that claim.
  const fromHash = window.location.hash.match(/^#claim-(\d+)$/);
  if (fromHash) openClaim(fromHash[1], { scroll: "text" });
})();
