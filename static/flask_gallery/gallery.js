/* flask_gallery: what htmx cannot do alone. No inline handlers and no eval, so a strict
   Content-Security-Policy (script-src with a nonce) runs it. Everything is delegated from
   document, so fragments swapped in later need no re-binding. */
(() => {
  "use strict";

  const blockOf = (el) => el.closest(".fg-block");

  function toggleFullscreen(block) {
    if (document.fullscreenElement) document.exitFullscreen();
    else if (block.requestFullscreen) block.requestFullscreen();
  }

  async function share(button) {
    try {
      await navigator.share({ url: new URL(button.dataset.url, location.href).href });
    } catch (_) { /* the user closed the share sheet */ }
  }

  // Share means the browser's own share sheet: show the button only where it exists.
  function revealShare(root) {
    if (!navigator.share) return;
    root.querySelectorAll(".fg-share[hidden]").forEach((b) => { b.hidden = false; });
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest(".fg-block .fg-fullscreen, .fg-block .fg-share");
    if (!button) return;
    if (button.classList.contains("fg-fullscreen")) toggleFullscreen(blockOf(button));
    else share(button);
  });

  revealShare(document);
  document.addEventListener("htmx:after:swap", (event) => revealShare(event.target));
})();
