// Ctrl+S / Cmd+S saves the claim editor.
document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
    const form = document.getElementById("claim-form");
    if (form) {
      event.preventDefault();
      form.requestSubmit();
    }
  }
});
