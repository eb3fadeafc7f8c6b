// The article reader: selection -> W3C selectors, highlights <-> claim panel, the claim
// editor beside the text, keyboard-only marking, shortcuts.
//
// The server renders the text as <span class="seg" data-s="N"> pieces, N being the
// piece's offset in Unicode code points. The browser counts UTF-16 code units, so a
// DOM position is turned into code points here: the piece's N plus the code points of
// the text before the position within the piece. An emoji before a selection thus
// shifts nothing.
//
// Keyboard: the text is a read-only editable region (contenteditable, every change
// refused), so the browser draws a caret that the arrow keys move, Shift+arrows select
// as in any text field, and screen readers follow the caret. `m` marks the selection.
//
// Suggested check-worthy sentences (annotations/checkworthiness.py) are listed in the side
// panel and outlined in the text (a dotted outline, no fill: not a claim); `s` moves between
// them, `a` marks the one in focus as a claim, `x` dismisses it for the whole desk (a POST to
// views_suggestions.py; the page leaves dismissed sentences out), with an Undo beside the list.
(function () {
  "use strict";

  const reader = document.querySelector(".reader[data-create-url]");
  if (!reader) return;
  const article = reader.querySelector(".article-text");
  const index = document.getElementById("claims-index");
  const panel = document.getElementById("claim-editor");
  const popover = document.getElementById("mark-popover");
  const toast = document.getElementById("reader-error");
  const help = document.getElementById("help");
  const colours = window.deskPage ? window.deskPage.applyColours : () => {};
  const editor = window.deskEditor;
  let items = [];
  let codePoints = [];
  let pristine = null; // a copy of the text's nodes, to undo any change that slips through
  let pending = null; // selectors of the current selection, or null
  let current = -1; // index in items of the claim in focus

  function indexText() {
    items = Array.from(reader.querySelectorAll(".claim-item"));
    codePoints = Array.from(article.textContent);
    pristine = article.cloneNode(true);
  }

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
      return seg ? segOffset(seg) + countCodePoints(node.data.slice(0, offset)) : null;
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
    if (response.redirected) throw new Error("You were logged out. Log in again (in another tab) and retry.");
    let data = {};
    try { data = await response.json(); } catch (e) { /* not JSON */ }
    if (!response.ok) throw new Error(data.error || `The desk answered ${response.status}; try again.`);
    return data;
  }

  // An HTML fragment of the desk's own pages (server-rendered, escaped there).
  async function getFragment(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } });
    if (response.redirected) throw new Error("You were logged out. Log in again (in another tab) and retry.");
    if (!response.ok) throw new Error(`The desk answered ${response.status}; try again.`);
    const template = document.createElement("template");
    template.innerHTML = await response.text();
    return template.content;
  }

  function editUrl(id) {
    return reader.dataset.editUrlTemplate.replace(/\/0\/$/, `/${id}/`);
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

  // --- The text and the list, again from the server after a claim is marked or saved ----------

  async function refreshReader() {
    const fragment = await getFragment(reader.dataset.readerUrl);
    const text = fragment.querySelector("[data-part=text]");
    const list = fragment.querySelector("[data-part=index]");
    if (!text || !list) throw new Error("The article could not be read again; reload the page.");
    const shown = items[current] ? items[current].dataset.claim : null;
    article.replaceChildren(...text.childNodes);
    index.replaceChildren(...list.childNodes);
    reader.dataset.version = text.dataset.version;
    colours(reader);
    applySuggestions();
    indexText();
    current = -1;
    if (shown) openClaim(shown, { scroll: "none" });
  }

  function openClaim(id, { scroll = "panel" } = {}) {
    current = -1;
    items.forEach((item, i) => {
      const active = item.dataset.claim === String(id);
      item.classList.toggle("active", active);
      item.querySelector(".claim-details").hidden = !active;
      if (active) current = i;
    });
    article.querySelectorAll(".seg.active").forEach((seg) => seg.classList.remove("active"));
    const segs = Array.from(article.querySelectorAll(".seg.hl")).filter((seg) =>
      seg.dataset.claims.split(" ").includes(String(id)));
    segs.forEach((seg) => seg.classList.add("active"));
    const item = items[current];
    if (scroll === "panel" && item) item.scrollIntoView({ block: "nearest" });
    if (scroll === "text" && segs[0]) segs[0].scrollIntoView({ block: "center" });
  }

  // --- The claim editor in the side panel ------------------------------------------------------

  function panelForm() {
    return panel.querySelector("form.claim-form");
  }

  function showEditor(fragment) {
    panel.replaceChildren(fragment);
    panel.hidden = false;
    colours(panel);
    const form = panelForm();
    if (form && editor) editor.attach(form);
  }

  async function openEditor(id, { focus = true, confirmed = false } = {}) {
    if (!confirmed && editor && !editor.confirmDiscard(panelForm())) return false;
    let fragment;
    try {
      fragment = await getFragment(`${editUrl(id)}?panel=1`);
    } catch (error) {
      showError(error.message);
      return false;
    }
    showEditor(fragment);
    history.replaceState(null, "", `#claim-${id}`);
    openClaim(id, { scroll: "none" });
    panel.scrollIntoView({ block: "nearest" });
    if (focus) {
      const form = panelForm();
      const target = (form && form.querySelector("input:not([type=hidden]), select, textarea")) ||
        panel.querySelector("#panel-editor-title");
      if (target && !panel.contains(document.activeElement)) target.focus();
    }
    return true;
  }

  function closeEditor() {
    if (panel.hidden || (editor && !editor.confirmDiscard(panelForm()))) return;
    const id = panel.querySelector("[data-claim]")?.dataset.claim;
    panel.hidden = true;
    panel.replaceChildren();
    const item = id && document.getElementById(`claim-${id}`);
    (item || article).focus();
  }

  function setBusy(form, busy) {
    form.setAttribute("aria-busy", busy ? "true" : "false");
    form.querySelectorAll("button").forEach((button) => { button.disabled = busy; });
  }

  // Saving in the panel: the same POST as the full page, answered with the panel again
  // (the saved claim, or the typed text with the reasons beside the fields).
  panel.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.matches("form.claim-form[data-panel]") || event.defaultPrevented) return;
    event.preventDefault();
    const body = new FormData(form);
    if (event.submitter && event.submitter.name) body.append(event.submitter.name, event.submitter.value);
    const id = form.dataset.claim;
    const failed = (message) => {
      delete form.dataset.submitting;
      setBusy(form, false);
      showError(message);
    };
    setBusy(form, true);
    let response;
    try {
      response = await fetch(form.getAttribute("action"), {
        method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRFToken": csrfToken() },
      });
    } catch (error) {
      return failed("The desk could not be reached; nothing was saved. Your typing is still here.");
    }
    if (response.redirected) return failed("You were logged out; nothing was saved. Log in again in another tab, then save.");
    if (response.status === 404) {
      return failed("This claim can no longer be edited by you (it may have been submitted meanwhile); " +
        "nothing was saved. Your typing is still here: copy what you need.");
    }
    if (!response.ok && response.status !== 400 && response.status !== 409) {
      return failed(`The desk answered ${response.status}; nothing was saved. Your typing is still here.`);
    }
    const template = document.createElement("template");
    template.innerHTML = await response.text();
    showEditor(template.content);
    if (!response.headers.get("X-Claim-Saved")) return; // refused: the form shows why
    try {
      await refreshReader();
    } catch (error) {
      showError(error.message);
    }
    openClaim(id, { scroll: "none" });
    const notice = panel.querySelector(".notice");
    if (notice) notice.focus();
  });

  panel.addEventListener("click", (event) => {
    if (event.target.closest("[data-action=close-editor]")) closeEditor();
  });

  // --- Marking and re-attaching ------------------------------------------------------------------

  async function markClaim(given = null) {
    const selectors = given || selectorsFromSelection() || pending;
    if (!selectors) return showError("Select the words of the claim in the article first.");
    if (editor && !editor.confirmDiscard(panelForm())) return;
    const { rect, ...body } = selectors;
    let claim;
    try {
      claim = await postJSON(reader.dataset.createUrl, body);
    } catch (error) {
      return showError(error.message);
    }
    window.getSelection().removeAllRanges();
    pending = null;
    hidePopover();
    try {
      await refreshReader();
    } catch (error) {
      showError(error.message);
    }
    await openEditor(claim.id, { confirmed: true }); // asked above, before marking
  }

  async function reattach(button) {
    const selectors = selectorsFromSelection() || pending;
    if (!selectors) return showError("Select the new text for this claim in the article first.");
    const item = button.closest(".orphan");
    const url = reader.dataset.reattachUrlTemplate.replace(/\/0\/(reattach\/)?$/, `/${button.dataset.claim}/$1`);
    try {
      await postJSON(url, {
        revision: parseInt(item.dataset.revision, 10),
        exact: selectors.exact, start: selectors.start, end: selectors.end,
      });
      window.getSelection().removeAllRanges();
      hidePopover();
      await refreshReader();
      openClaim(button.dataset.claim, { scroll: "text" });
    } catch (error) {
      showError(error.message);
    }
  }

  // --- Suggested sentences: accept (a claim with the sentence as its selection) or dismiss -------
  // A dismissal is the desk's: the server keeps it and leaves the sentence out of the page for
  // everyone. The item goes at once; if the desk refuses, it comes back with the reason.

  const suggestionBox = document.getElementById("suggestions");
  const suggestionStatus = document.getElementById("suggestion-status");
  let lastDismissed = null; // what Undo takes back: the last one dismissed, whichever answer comes first

  function suggestionItems() {
    return suggestionBox ? Array.from(suggestionBox.querySelectorAll(".suggestion-item")) : [];
  }

  const suggestionKey = (item) => `${item.dataset.start}-${item.dataset.end}`;

  function piece(tag, start, chars) {
    const element = document.createElement(tag);
    element.className = "seg";
    element.dataset.s = String(start);
    element.textContent = chars.join("");
    return element;
  }

  // Outlines [start, end) of text no claim covers: the pieces it crosses are split, each new
  // piece keeping its code-point offset in data-s, the sentence's part becoming a <mark>.
  function outline(start, end, key) {
    for (const seg of Array.from(article.querySelectorAll(".seg:not(.hl)"))) {
      const a = segOffset(seg);
      const chars = Array.from(seg.textContent);
      if (a + chars.length <= start || a >= end) continue;
      const from = Math.max(start, a) - a;
      const to = Math.min(end, a + chars.length) - a;
      const mark = piece("mark", a + from, chars.slice(from, to));
      mark.classList.add("sugg");
      mark.dataset.sugg = key;
      mark.title = "Suggested sentence, not a claim";
      const pieces = [mark];
      if (from > 0) pieces.unshift(piece("span", a, chars.slice(0, from)));
      if (to < chars.length) pieces.push(piece("span", a + to, chars.slice(to)));
      seg.replaceWith(...pieces);
    }
  }

  // Shows the suggestions still open: not covered by a claim, same version (the server left the
  // dismissed ones out).
  function applySuggestions() {
    if (!suggestionBox) return;
    const claimed = Array.from(article.querySelectorAll(".seg.hl")).map((seg) =>
      [segOffset(seg), segOffset(seg) + countCodePoints(seg.textContent)]);
    const sameVersion = suggestionBox.dataset.version === reader.dataset.version;
    for (const item of suggestionItems()) {
      const start = parseInt(item.dataset.start, 10);
      const end = parseInt(item.dataset.end, 10);
      if (!sameVersion || claimed.some(([a, b]) => a < end && start < b)) {
        item.remove();
        continue;
      }
      outline(start, end, suggestionKey(item));
    }
    suggestionBox.hidden = suggestionItems().length === 0;
  }

  function focusSuggestion(item) {
    suggestionItems().forEach((other) => other.classList.toggle("current", other === item));
    article.querySelectorAll("mark.sugg.current").forEach((mark) => mark.classList.remove("current"));
    const mark = article.querySelector(`mark.sugg[data-sugg="${suggestionKey(item)}"]`);
    if (mark) {
      mark.classList.add("current");
      mark.scrollIntoView({ block: "center" });
    }
    item.focus({ preventScroll: true });
  }

  // The suggestion in focus: its item in the panel, or the outlined sentence holding the caret.
  function focusedSuggestion() {
    const active = document.activeElement && document.activeElement.closest(".suggestion-item");
    if (active && suggestionBox && suggestionBox.contains(active)) return active;
    const selection = window.getSelection();
    if (!selection || !selection.rangeCount || !selection.isCollapsed || !article.contains(selection.anchorNode)) return null;
    const node = selection.anchorNode;
    const mark = (node.nodeType === Node.TEXT_NODE ? node.parentElement : node).closest("mark.sugg");
    return mark ? suggestionItems().find((item) => suggestionKey(item) === mark.dataset.sugg) || null : null;
  }

  async function acceptSuggestion(item) {
    if (item.dataset.busy) return;
    item.dataset.busy = "1";
    const start = parseInt(item.dataset.start, 10);
    const end = parseInt(item.dataset.end, 10);
    await markClaim({
      version: parseInt(reader.dataset.version, 10),
      exact: codePoints.slice(start, end).join(""),
      prefix: codePoints.slice(Math.max(0, start - 32), start).join(""),
      suffix: codePoints.slice(end, end + 32).join(""),
      start: start,
      end: end,
    });
    delete item.dataset.busy; // still listed if marking failed (the toast says why)
  }

  function suggestionBody(item) {
    return {
      version: parseInt(suggestionBox.dataset.version, 10),
      start: parseInt(item.dataset.start, 10),
      end: parseInt(item.dataset.end, 10),
    };
  }

  // Takes the sentence's outline off the text and its item out of the list.
  function hideSuggestion(item) {
    article.querySelectorAll(`mark.sugg[data-sugg="${suggestionKey(item)}"]`).forEach((mark) => {
      mark.classList.remove("sugg", "current");
      mark.removeAttribute("title");
      delete mark.dataset.sugg;
    });
    pristine = article.cloneNode(true);
    item.classList.remove("current");
    item.remove();
    suggestionBox.hidden = suggestionItems().length === 0;
  }

  // Puts it back: in the list in text order, outlined again unless a claim covers it meanwhile.
  function showSuggestion(item) {
    if (item.isConnected) return;
    const start = parseInt(item.dataset.start, 10);
    const end = parseInt(item.dataset.end, 10);
    const claimed = Array.from(article.querySelectorAll(".seg.hl")).some((seg) =>
      segOffset(seg) < end && start < segOffset(seg) + countCodePoints(seg.textContent));
    if (claimed) return;
    const after = suggestionItems().find((other) => parseInt(other.dataset.start, 10) > start);
    suggestionBox.querySelector(".suggestion-list").insertBefore(item, after || null);
    outline(start, end, suggestionKey(item));
    pristine = article.cloneNode(true);
    suggestionBox.hidden = false;
  }

  function clearStatus() {
    suggestionStatus.replaceChildren();
  }

  // "Dismissed ... [Undo]": the last dismissal can be taken back.
  function offerUndo(item) {
    const said = document.createElement("span");
    said.textContent = "Suggestion dismissed for everyone on this desk. ";
    const undo = document.createElement("button");
    undo.type = "button";
    undo.className = "linkish";
    undo.dataset.action = "undo-dismiss";
    undo.textContent = "Undo";
    undo.addEventListener("click", () => restoreSuggestion(item));
    suggestionStatus.replaceChildren(said, undo);
  }

  async function restoreSuggestion(item) {
    try {
      await postJSON(suggestionBox.dataset.restoreUrl, suggestionBody(item));
    } catch (error) {
      return showError(error.message);
    }
    clearStatus();
    lastDismissed = null;
    showSuggestion(item);
    if (item.isConnected) focusSuggestion(item);
    else article.focus();
  }

  async function dismissSuggestion(item) {
    if (item.dataset.busy) return;
    const list = suggestionItems();
    const next = list[list.indexOf(item) + 1] || list[list.indexOf(item) - 1];
    hideSuggestion(item);
    if (next) focusSuggestion(next);
    else article.focus();
    lastDismissed = item;
    clearStatus();
    try {
      await postJSON(suggestionBox.dataset.dismissUrl, suggestionBody(item));
    } catch (error) {
      showSuggestion(item); // not dismissed: listed again, and the toast says why
      return showError(error.message);
    }
    if (lastDismissed === item) offerUndo(item);
  }

  function nextSuggestion() {
    const list = suggestionItems();
    if (!list.length) return;
    const at = list.findIndex((item) => item.classList.contains("current"));
    focusSuggestion(list[(at + 1) % list.length]);
  }

  if (suggestionBox) {
    suggestionBox.addEventListener("click", (event) => {
      const item = event.target.closest(".suggestion-item");
      if (!item) return;
      if (event.target.closest("[data-action=accept-suggestion]")) acceptSuggestion(item);
      else if (event.target.closest("[data-action=dismiss-suggestion]")) dismissSuggestion(item);
    });
    article.addEventListener("click", (event) => {
      const mark = event.target.closest("mark.sugg");
      if (!mark || !window.getSelection().isCollapsed) return;
      const item = suggestionItems().find((i) => suggestionKey(i) === mark.dataset.sugg);
      if (item) focusSuggestion(item);
    });
  }

  // --- The text: selectable with mouse and keyboard, never changed --------------------------------

  article.contentEditable = "true";
  article.inputMode = "none"; // no on-screen keyboard: the text is read and selected, not typed
  const refuse = (event) => event.preventDefault();
  ["beforeinput", "paste", "cut", "drop", "dragstart"].forEach((type) => article.addEventListener(type, refuse));
  // Input that cannot be refused (an input method's composition): put the text back.
  const putBack = () => {
    if (article.textContent === codePoints.join("")) return;
    article.replaceChildren(...pristine.cloneNode(true).childNodes);
    colours(article);
    if (items[current]) openClaim(items[current].dataset.claim, { scroll: "none" });
  };
  article.addEventListener("input", putBack);
  article.addEventListener("compositionend", () => setTimeout(putBack, 0));

  article.addEventListener("mouseup", () => setTimeout(updatePending, 0));
  article.addEventListener("keyup", (event) => { if (event.shiftKey || event.key === "Shift") updatePending(); });
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

  // The list is swapped after every save: its buttons are handled here, by delegation.
  index.addEventListener("click", (event) => {
    const open = event.target.closest(".claim-open");
    if (open) return openClaim(open.dataset.claim, { scroll: "text" });
    const again = event.target.closest("[data-action=reattach]");
    if (again) return reattach(again);
    // "Open claim" opens the editor beside the text; a new tab or window still gets the page.
    const link = event.target.closest(".claim-details a.button");
    if (link && event.button === 0 && !event.ctrlKey && !event.metaKey && !event.shiftKey && !event.altKey) {
      event.preventDefault();
      openEditor(link.closest(".claim-item").dataset.claim);
    }
  });
  popover.addEventListener("mousedown", (event) => event.preventDefault()); // keep the selection
  popover.querySelector("[data-action=mark]").addEventListener("click", () => markClaim());
  document.querySelectorAll("[data-action=help]").forEach((b) =>
    b.addEventListener("click", () => { help.hidden = !help.hidden; }));
  help.addEventListener("click", () => { help.hidden = true; });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    const inField = event.target.closest && event.target.closest("input, textarea, select");
    const inEditor = panel.contains(event.target);
    if (event.key === "Escape" && !inField) {
      if (!help.hidden) help.hidden = true;
      else if (!popover.hidden) hidePopover();
      else closeEditor();
      return;
    }
    if (inField || inEditor) return;
    if (event.key === "?") { help.hidden = !help.hidden; event.preventDefault(); return; }
    if (event.key === "m" || event.key === "M") { event.preventDefault(); markClaim(); return; }
    if (event.key === "s" && suggestionItems().length) { event.preventDefault(); nextSuggestion(); return; }
    if (event.key === "a" || event.key === "x") {
      const item = focusedSuggestion();
      if (item) {
        event.preventDefault();
        if (event.key === "a") acceptSuggestion(item);
        else dismissSuggestion(item);
        return;
      }
    }
    if (!items.length) return;
    if (event.key === "j" || event.key === "k") {
      event.preventDefault();
      const step = event.key === "j" ? 1 : -1;
      const i = current < 0 ? (step > 0 ? 0 : items.length - 1) : (current + step + items.length) % items.length;
      openClaim(items[i].dataset.claim, { scroll: "text" });
      items[i].focus({ preventScroll: true });
      return;
    }
    if ((event.key === "Enter" || event.key === "o") && current >= 0) {
      event.preventDefault();
      openEditor(items[current].dataset.claim);
    }
  });

  colours(reader);
  applySuggestions();
  indexText();
  // Arriving at #claim-N (e.g. after saving on the full page) shows that claim.
  const fromHash = window.location.hash.match(/^#claim-(\d+)$/);
  if (fromHash) openClaim(fromHash[1], { scroll: "text" });
})();
