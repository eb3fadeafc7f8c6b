// The claim editor, on its own page and in the article reader's side panel:
// - Ctrl+S (Cmd+S) saves;
// - leaving the page with unsaved changes asks first (not after pressing Save);
// - what is typed is kept in this browser (localStorage, per claim and revision) and
//   offered back when the editor is opened again without it having been saved.
// The reader's script calls window.deskEditor.attach(form) on every form it swaps in.
(function () {
  "use strict";

  const PREFIX = "desk:claim-draft:";
  const MAX_AGE_MS = 14 * 24 * 60 * 60 * 1000;
  const forms = new Set();

  // What a person typed: every visible field by name (not the token, the revision, the
  // source ids or the formset's counters, which the page owns).
  function values(form) {
    const out = {};
    for (const el of form.elements) {
      if (!el.name || el.type === "hidden" || el.type === "submit" || el.type === "button") continue;
      out[el.name] = el.type === "checkbox" ? (el.checked ? "on" : "") : el.value;
    }
    return out;
  }

  function differs(a, b) {
    return Object.keys(a).some((name) => name in b && a[name] !== b[name]);
  }

  function storage() {
    try {
      return window.localStorage;
    } catch (e) {
      return null; // storage switched off: everything but the draft still works
    }
  }

  function readDraft(key) {
    const store = storage();
    try {
      return store ? JSON.parse(store.getItem(key) || "null") : null;
    } catch (e) {
      return null;
    }
  }

  function writeDraft(key, draft) {
    const store = storage();
    if (!store) return;
    try {
      if (draft) store.setItem(key, JSON.stringify(draft));
      else store.removeItem(key);
    } catch (e) { /* full: the warning before leaving still protects the typing */ }
  }

  // Drafts of this claim's older revisions were saved or overtaken; old drafts of any
  // claim are dropped after two weeks.
  function prune(claim, revision) {
    const store = storage();
    if (!store) return;
    const now = Date.now();
    for (let i = store.length - 1; i >= 0; i--) {
      const key = store.key(i);
      if (!key || !key.startsWith(PREFIX)) continue;
      const [id, rev] = key.slice(PREFIX.length).split(":");
      const draft = readDraft(key);
      if ((id === claim && rev !== revision) || !draft || now - draft.at > MAX_AGE_MS) store.removeItem(key);
    }
  }

  function isDirty(form) {
    if (!form.isConnected || form.dataset.submitting === "true") return false;
    return form.dataset.unsaved === "true" || differs(values(form), form.deskInitial);
  }

  function restore(form, saved) {
    for (const el of form.elements) {
      if (!el.name || !(el.name in saved) || el.type === "hidden") continue;
      if (el.type === "checkbox") el.checked = saved[el.name] === "on";
      else el.value = saved[el.name];
    }
  }

  function offerDraft(form, key) {
    const draft = readDraft(key);
    if (!draft || !differs(draft.values, values(form))) return;
    const when = new Date(draft.at).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
    const offer = document.createElement("div");
    offer.className = "draft-offer";
    offer.setAttribute("role", "status");
    offer.dataset.testid = "draft-offer";
    const text = document.createElement("p");
    text.textContent = `You typed changes to this claim (${when}) that were not saved. They were kept in this browser.`;
    const keep = document.createElement("button");
    keep.type = "button";
    keep.textContent = "Restore them";
    const drop = document.createElement("button");
    drop.type = "button";
    drop.textContent = "Discard them";
    offer.append(text, keep, " ", drop);
    form.prepend(offer);
    keep.addEventListener("click", () => {
      restore(form, draft.values);
      offer.remove();
      const first = form.querySelector("input:not([type=hidden]), select, textarea");
      if (first) first.focus();
    });
    drop.addEventListener("click", () => {
      writeDraft(key, null);
      offer.remove();
    });
  }

  function attach(form) {
    if (!form || forms.has(form)) return;
    forms.add(form);
    const claim = form.dataset.claim;
    const key = `${PREFIX}${claim}:${form.dataset.revision}`;
    form.deskInitial = values(form);
    prune(claim, form.dataset.revision);
    offerDraft(form, key);

    let timer = null;
    const keep = () => writeDraft(key, isDirty(form) ? { at: Date.now(), values: values(form) } : null);
    form.deskKeepDraft = keep;
    const later = () => {
      clearTimeout(timer);
      timer = setTimeout(keep, 400);
    };
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    // Pressing Save hands the typing to the server: no warning for the page it answers
    // with. The reader's script clears the flag if its request fails.
    form.addEventListener("submit", () => {
      clearTimeout(timer);
      keep();
      form.dataset.submitting = "true";
    });

    // A refused save comes back with its reasons: go to the first one.
    const error = form.querySelector(".field .errorlist");
    const field = error && error.closest(".field").querySelector("input, select, textarea");
    if (field) field.focus();
  }

  function dirtyForms() {
    for (const form of forms) if (!form.isConnected) forms.delete(form);
    return Array.from(forms).filter(isDirty);
  }

  window.addEventListener("beforeunload", (event) => {
    const dirty = dirtyForms();
    if (!dirty.length) return;
    dirty.forEach((form) => form.deskKeepDraft());
    event.preventDefault();
    event.returnValue = ""; // older browsers need it set to show the question
  });

  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
      const active = document.activeElement && document.activeElement.closest("form.claim-form");
      const form = active || Array.from(forms).find((f) => f.isConnected);
      if (form) {
        event.preventDefault();
        form.requestSubmit(form.querySelector("button[name=intent][value=save]") || undefined);
      }
    }
  });

  window.deskEditor = Object.freeze({
    attach: attach,
    isDirty: (form) => Boolean(form) && isDirty(form),
    // Before throwing a form away (opening another claim in the panel): ask if it has changes.
    confirmDiscard: (form) => !form || !isDirty(form) ||
      window.confirm("This claim has changes that are not saved. Discard them? (A copy stays in this browser.)"),
  });

  // "Use suggestion: …" beside an empty claimant or restatement: fills the field (which stays
  // editable and counts as a change), then the offer goes. Delegated, so the side panel's
  // swapped-in forms need nothing more.
  document.addEventListener("click", (event) => {
    const offer = event.target.closest("button.use-suggestion");
    if (!offer) return;
    const field = document.getElementById(offer.dataset.target);
    if (!field) return;
    field.value = offer.dataset.value;
    field.dispatchEvent(new Event("input", { bubbles: true }));
    field.focus();
    offer.remove();
  });

  document.querySelectorAll("form.claim-form").forEach(attach);
})();
