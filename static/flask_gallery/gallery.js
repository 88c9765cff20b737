/* flask_gallery: what htmx cannot do alone. The page's toasts, keyboard navigation and focus in the preview,
   uploads with progress (fetch has no upload progress), drag and drop, clipboard, webcam, and
   polling where the WebSocket cannot connect.
   No inline handlers and no eval, so a strict Content-Security-Policy (script-src with a nonce,
   no 'unsafe-inline', no 'unsafe-eval') runs it. Everything is delegated from document, so
   fragments swapped in later need no re-binding. */
(() => {
  "use strict";

  const blockOf = (el) => el && el.closest && el.closest(".fg-block");
  const headersOf = (block) => {
    try { return JSON.parse(block.getAttribute("hx-headers:inherited") || "{}"); }
    catch (_) { return {}; }
  };

  /* Apply server HTML (made of <hx-partial> updates) the way the WebSocket extension does. */
  function applyUpdates(source, html) {
    if (!html || !window.htmx) return Promise.resolve();
    return htmx.swap({
      sourceElement: source, target: source, swap: "none swapEmpty:false", text: html,
      transition: false,
    });
  }

  /* ---- messages: the page's toasts --------------------------------------------------- */

  // Gradio's toasts, in the page's one region (drawn by the server beside the page's socket):
  // info, warning and success leave after their data-duration seconds, errors stay until
  // closed; the close button (or Escape inside a toast) closes one. A page shows at most
  // MAX_TOASTS: the oldest go first.
  const TOASTS = "fg-toasts";
  const MAX_TOASTS = 5;

  function toastRegion() {
    let region = document.getElementById(TOASTS);
    if (!region) {  // a page whose server drew none: the script's own messages still show
      region = document.createElement("div");
      region.className = "fg-toasts";
      region.id = TOASTS;
      document.body.appendChild(region);
    }
    watchToasts(region);
    return region;
  }

  // Closing the toast that has the keyboard focus hands it to its neighbour, not to the body.
  function closeToast(toast) {
    const focused = toast.contains(document.activeElement);
    const neighbour = toast.nextElementSibling || toast.previousElementSibling;
    toast.remove();
    const close = focused && neighbour && neighbour.querySelector(".fg-toast-close");
    if (close) close.focus();
  }

  function armToasts(region) {
    const toasts = region.querySelectorAll(".fg-toast");
    for (let i = 0; i < toasts.length - MAX_TOASTS; i += 1) toasts[i].remove();
    region.querySelectorAll(".fg-toast[data-duration]:not([data-armed])").forEach((toast) => {
      toast.dataset.armed = "1";
      const seconds = Number(toast.dataset.duration);
      if (!(seconds > 0)) return;
      const timer = toast.querySelector(".fg-toast-timer");
      if (timer) timer.style.animationDuration = `${seconds}s`;  // CSSOM: allowed by a strict CSP
      setTimeout(() => { if (toast.isConnected) closeToast(toast); }, seconds * 1000);
    });
  }

  // Toasts arrive by the socket, polls, HTTP answers and this script alike: watched, not hooked.
  function watchToasts(region) {
    if (region.fgWatched) return;
    region.fgWatched = true;
    new MutationObserver(() => armToasts(region)).observe(region, { childList: true });
    armToasts(region);
  }

  document.addEventListener("click", (event) => {
    const close = event.target.closest && event.target.closest(".fg-toast-close");
    if (close) closeToast(close.closest(".fg-toast"));
  });
  document.addEventListener("keydown", (event) => {
    const toast = event.key === "Escape" && event.target.closest && event.target.closest(".fg-toast");
    if (toast) { event.preventDefault(); closeToast(toast); }
  });

  function toast(level, text, title) {
    const card = document.createElement("div");
    card.className = `fg-toast fg-toast-${level}`;
    card.setAttribute("role", level === "error" ? "alert" : "status");
    card.setAttribute("aria-atomic", "true");
    if (level !== "error") card.dataset.duration = "10";  // Gradio's default duration
    const body = card.appendChild(document.createElement("div"));
    body.className = "fg-toast-body";
    const heading = body.appendChild(document.createElement("strong"));
    heading.className = "fg-toast-title";
    heading.textContent = title || level.charAt(0).toUpperCase() + level.slice(1);
    const p = body.appendChild(document.createElement("p"));
    p.className = "fg-toast-text";
    p.textContent = text;
    const close = card.appendChild(document.createElement("button"));
    close.type = "button";
    close.className = "fg-toast-close";
    close.setAttribute("aria-label", "Close");
    close.title = "Close";
    close.textContent = "\u00d7";
    if (card.dataset.duration) card.appendChild(document.createElement("span")).className = "fg-toast-timer";
    toastRegion().appendChild(card);
  }

  // What concerns the whole page (it expired, or another process of the server made it): one
  // toast, not one more each time it is said again.
  function toastOnce(text) {
    const shown = Array.from(toastRegion().querySelectorAll(".fg-toast-text"))
      .some((p) => p.textContent === text);
    if (!shown) toast("error", text);
  }

  // The text of a refusal the server answered with (a toast fragment).
  const messageOf = (html) => {
    const body = new DOMParser().parseFromString(html, "text/html").body;
    return (body.querySelector(".fg-toast-text") || body).textContent.trim();
  };

  /* Every htmx request of the page names the page (same origin only: htmx's default mode), so
     the app's own views can ask galleries.page() which page they serve. */
  document.addEventListener("htmx:config:request", (event) => {
    const headers = event.detail.ctx.request.headers;
    const socket = document.querySelector(".fg-socket[data-page]");
    if (socket && !headers["X-Gallery-Page"]) headers["X-Gallery-Page"] = socket.dataset.page;
  });

  /* ---- listeners' js: run before the request, its return replaces the inputs ---------- */

  // What each action fires, as the server decides it (interactions.py).
  const FIRES = { select: ["preview_open", "select"], close: ["preview_close"],
    delete: ["delete", "change"], upload: ["upload", "change"] };

  const blockNamed = (name) => document.querySelector(`.fg-block[data-gallery="${CSS.escape(name)}"]`);

  function galleryValue(name, selectedOnly) {
    const block = blockNamed(name);
    if (!block) return null;
    const thumbs = block.querySelectorAll(`.fg-grid .fg-thumb${selectedOnly ? ".fg-selected" : ""}`);
    const items = Array.from(thumbs).map((b) => {
      const caption = b.querySelector(".fg-caption-label");
      const kind = b.classList.contains("fg-video") ? "video" : "image";
      return { [kind]: { url: b.dataset.full }, caption: caption ? caption.textContent : null };
    });
    return items.length ? items : null;
  }

  const inputValue = (input) => (input.gallery !== undefined ? galleryValue(input.gallery)
    : input.selection !== undefined ? galleryValue(input.selection, true)
    : input.field !== undefined
      ? (document.querySelector(`[name="${CSS.escape(input.field)}"]`) || {}).value ?? null
      : null);  // a State never leaves the server

  // Returns the [field name, JSON] pairs to send, or reports why a js could not run (a strict
  // Content-Security-Policy without 'unsafe-eval' forbids compiling it).
  function runJsSpecs(specs, report) {
    const fields = [];
    for (const spec of specs) {
      const inputs = spec.inputs.map(inputValue);
      try {
        const fn = new Function(`return (${spec.js});`)();  // eslint-disable-line no-new-func
        const result = typeof fn === "function" ? fn(...inputs) : fn;
        const values = Array.isArray(result) ? result : [result];
        fields.push([`_fg_js:${spec.id}`, JSON.stringify(values.slice(0, inputs.length))]);
      } catch (error) {
        report(`The js of ${spec.id} could not run: ${error.message}`);
      }
    }
    return fields;
  }

  function runListenerJs(block, action) {
    let specs;
    try { specs = JSON.parse(block.dataset.js || "[]"); } catch (_) { return []; }
    const fired = FIRES[action] || [];
    return runJsSpecs(specs.filter((s) => fired.includes(s.event)),
      (text) => toast("error", text));
  }

  const actionOf = (url) => (String(url).match(/\/(select|close|delete|upload)(?:\/|$)/) || [])[1];

  document.addEventListener("htmx:config:request", (event) => {
    const ctx = event.detail.ctx;
    const block = blockOf(ctx.sourceElement);
    if (!block || !block.dataset.js || !(ctx.request.body instanceof FormData)) return;
    for (const [name, value] of runListenerJs(block, actionOf(ctx.request.action))) {
      ctx.request.body.append(name, value);
    }
  });

  /* ---- multi-select: Ctrl/Cmd-click toggles, Shift-click adds a range, Space toggles ---- */

  // A gallery with selection_mode="multiple" draws its grid as an ARIA grid. A click on one of
  // its thumbnails names how it changes the selection in SELECT_FIELD (a plain click names
  // nothing: it selects the item alone, as Gradio's); the server keeps and draws the selection.
  // Registered before the socket's click listener below, which reads thumb.fgSelect.
  const SELECT_FIELD = "_fg_select";
  const multiselect = (block) => !!(block && block.hasAttribute("data-multiselect"));
  const gridThumb = (el) => el && el.closest && el.closest(".fg-grid .fg-thumb");

  document.addEventListener("click", (event) => {
    const thumb = gridThumb(event.target);
    if (!thumb) return;
    // A thumbnail is a link, and a browser opens a link Ctrl-, Cmd- or Shift-clicked (htmx
    // leaves it to it): in a multi-select gallery such a click is a toggle or a range, sent as
    // a plain click that names it, by the socket or by htmx alike.
    const how = event.shiftKey ? "range" : event.ctrlKey || event.metaKey ? "toggle" : null;
    if (how && multiselect(blockOf(thumb))) {
      event.preventDefault();
      event.stopImmediatePropagation();
      thumb.fgKeyed = how;
      thumb.click();
      return;
    }
    const keyed = thumb.fgKeyed;
    thumb.fgKeyed = null;
    thumb.fgSelect = multiselect(blockOf(thumb)) ? keyed : null;
  }, true);

  // Space toggles the focused thumbnail (Shift+Space adds the range to it) instead of the
  // plain click Space makes on a thumbnail elsewhere (below); Enter stays a plain click.
  const spaceOnThumb = (event) => event.key === " " && !event.altKey && !event.ctrlKey
    && !event.metaKey && gridThumb(event.target) && multiselect(blockOf(event.target));
  document.addEventListener("keydown", (event) => {
    if (!spaceOnThumb(event)) return;
    event.preventDefault();
    if (event.repeat) return;
    const thumb = gridThumb(event.target);
    thumb.fgKeyed = event.shiftKey ? "range" : "toggle";
    thumb.click();
  });
  document.addEventListener("keyup", (event) => { if (spaceOnThumb(event)) event.preventDefault(); });

  document.addEventListener("htmx:config:request", (event) => {
    const ctx = event.detail.ctx;
    const thumb = gridThumb(ctx.sourceElement);
    if (thumb && thumb.fgSelect && ctx.request.body instanceof FormData) {
      ctx.request.body.append(SELECT_FIELD, thumb.fgSelect);
    }
  });

  /* ---- clicks over the page's open WebSocket ------------------------------------------ */

  // A select, close or delete would cost a new HTTP request (Flask's dev server closes every
  // connection). While the page's socket is open the click goes as one frame on it instead, and
  // its answer comes back on it, ahead of its handlers' results (with them, when they are quick).
  // The frame is sent from the click itself, before htmx would build a request it then drops:
  // the click is the gallery's, and goes no further. Uploads (files) and the app's own buttons
  // stay requests; so does everything while the socket is down.
  //
  // The socket is read at each click from hx-ws's connection on the socket element, with the
  // server's own list of the actions it takes there: hx-ws may open it before this (deferred)
  // script runs, on a fast connection, so nothing here may depend on having seen the
  // connection's event. (Depending on it sent every click of 1 page load in 30 by HTTP.)
  function liveSocket(element) {
    const live = element && element._htmx && element._htmx.ws && element._htmx.ws.connection;
    return live && live.socket && live.socket.readyState === WebSocket.OPEN ? live.socket : null;
  }

  // The page's open socket and the actions it carries, or null while it has none.
  function openSocket() {
    const element = document.querySelector(".fg-socket");
    const socket = liveSocket(element);
    return socket && { socket, actions: (element.dataset.socketActions || "").split(" ") };
  }

  // The values of form fields as a frame carries them (a form's would be submitted); null when
  // one is a chosen file, which only a request carries (with skipFiles, files are left out).
  function fieldValues(fields, skipFiles) {
    const values = {};
    for (const field of fields) {
      if (!field.name || field.disabled) continue;
      if ((field.type === "checkbox" || field.type === "radio") && !field.checked) continue;
      if (field.type === "file") { if (field.files.length && !skipFiles) return null; continue; }
      const chosen = field.tagName === "SELECT" && field.multiple
        ? Array.from(field.selectedOptions, (option) => option.value) : [field.value];
      for (const value of chosen) {
        values[field.name] = field.name in values ? [].concat(values[field.name], value) : value;
      }
    }
    return values;
  }

  // The page's form fields the gallery's listeners take (its hx-include).
  function includedValues(block) {
    const selector = block.getAttribute("hx-include:inherited");
    return fieldValues(selector ? document.querySelectorAll(selector) : [], false);
  }

  document.addEventListener("click", (event) => {
    const open = openSocket();
    if (!open) return;
    const button = event.target.closest && event.target.closest("[hx-post]");
    const block = blockOf(button);
    if (!block || !block.dataset.actions || button.disabled || opensLink(event)) return;
    const url = button.getAttribute("hx-post");
    if (!url.startsWith(`${block.dataset.actions}/`)) return;
    // The route's tail names the action and, for some, the item: "select/3", "close".
    const [action, index] = url.slice(block.dataset.actions.length + 1).split("/");
    if (!open.actions.includes(action)) return;
    const values = includedValues(block);
    if (!values) return;
    event.preventDefault();
    event.stopPropagation();  // htmx's own listener on the button would make a request
    for (const [name, value] of runListenerJs(block, action)) values[name] = value;
    if (action === "select" && button.fgSelect) values[SELECT_FIELD] = button.fgSelect;
    block.fgHadFocus = block.contains(document.activeElement);
    const click = { action, gallery: block.dataset.gallery, values, root: block.id };
    if (index !== undefined) click.index = decodeURIComponent(index);
    // A gallery without a preview: a select only moves the highlight, drawn here at once
    // (as Gradio's own frontend does); the server then sends the handlers' results alone.
    // (A multi-select gallery's selection is the server's to draw.) Drawn after the frame is
    // sent, so the server starts on the click sooner; its answer cannot arrive before this
    // listener returns.
    const local = action === "select" && block.dataset.highlight === "local"
      && button.matches(".fg-thumb") && !multiselect(block);
    if (local) click.drawn = true;
    open.socket.send(JSON.stringify(click));
    if (local) {
      for (const old of block.querySelectorAll(".fg-grid .fg-thumb.fg-selected")) {
        old.classList.remove("fg-selected");
        old.removeAttribute("aria-pressed");
      }
      button.classList.add("fg-selected");
      button.setAttribute("aria-pressed", "true");
      rememberSelected(block);
    }
  }, true);

  /* ---- without JavaScript: thumbnails are links, uploads a form ---------------------- */

  // Controls that need this script are shown, and the no-script upload button hidden, by this
  // class (gallery.css): the server draws the page for a browser without JavaScript.
  document.documentElement.classList.add("fg-js");

  // A thumbnail is a link to its full file: Ctrl-, Cmd- or Shift-click opens that file (htmx
  // leaves such clicks to the browser too), a plain click selects.
  function opensLink(event) {
    return (event.ctrlKey || event.metaKey || event.shiftKey)
      && !!event.target.closest("a.fg-thumb[href]");
  }

  // With the script a thumbnail acts as a button (role="button"): Space activates it, as Enter
  // does, instead of scrolling the page.
  // The upload zone's file input opens its picker on Enter as on Space (Chromium's own input
  // opens it on Space only), as every other control of the gallery answers both keys.
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.repeat || !event.target.matches
      || (event.key !== " " && event.key !== "Enter")) return;
    const thumb = event.key === " " && event.target.matches(".fg-block a.fg-thumb[role=button]");
    const picker = event.target.matches(".fg-block .fg-file-input");
    if (!thumb && !picker) return;
    event.preventDefault();
    event.target.click();
  });

  /* ---- the app's own elements: a button's click, a form's submit, a field's change/input - */

  // What the server bound on this page (registry.element_specs), by "<id> <event>".
  let bound = null;
  function boundSpecs() {
    if (bound) return bound;
    const holder = document.querySelector(".fg-socket[data-elements]");
    if (!holder) return {};
    bound = {};
    try {
      for (const spec of JSON.parse(holder.dataset.elements)) bound[`${spec.id} ${spec.event}`] = spec;
    } catch (_) { /* nothing bound */ }
    return bound;
  }

  // The value a change or input carries as its event data, as Gradio's fields give it.
  function fieldValue(field) {
    if (field.type === "checkbox") return field.checked;
    if (field.tagName === "SELECT" && field.multiple) {
      return Array.from(field.selectedOptions, (option) => option.value);
    }
    return field.value === undefined ? null : field.value;
  }

  // Sent as a gallery click is: a frame on the open socket, else a request (its answer is
  // empty; the results come on the socket or the polls, as every result does).
  function sendTrigger(id, type, values) {
    const open = openSocket();
    if (open && open.actions.includes("trigger")) {
      // root: where a refusal is about (it shows as a toast).
      open.socket.send(JSON.stringify({ action: "trigger", element: id, event: type, values, root: id }));
      return;
    }
    const holder = document.querySelector(".fg-socket[data-trigger]");
    let headers = {};
    try { headers = JSON.parse(holder.dataset.headers); } catch (_) { /* none */ }
    headers["HX-Request"] = "true";
    const body = new FormData();
    for (const [name, value] of Object.entries(values)) {
      for (const item of [].concat(value)) body.append(name, item);
    }
    fetch(`${holder.dataset.trigger}/${encodeURIComponent(id)}/on/${type}`,
      { method: "POST", body, headers })
      .then(async (response) => {
        if (!response.ok) {
          toast("error", messageOf(await response.text()) || `The ${type} failed (${response.status}).`);
        }
      })
      .catch(() => toast("error", "The server could not be reached."));
  }

  function trigger(type, event) {
    const specs = boundSpecs();
    let element = event.target;
    while (element && element.nodeType === 1 && !(element.id && specs[`${element.id} ${type}`])) {
      element = element.parentElement;
    }
    if (!element || element.nodeType !== 1 || element.disabled) return;
    const spec = specs[`${element.id} ${type}`];
    if (type === "submit") event.preventDefault();  // the page stays
    const named = spec.fields.map((name) => `[name="${CSS.escape(name)}"]`).join(",");
    const values = fieldValues(named ? document.querySelectorAll(named) : [], true);
    if (type === "submit" && element.elements) Object.assign(values, fieldValues(element.elements, true));
    if (type === "change" || type === "input") values._fg_value = JSON.stringify(fieldValue(event.target));
    for (const [name, value] of runJsSpecs(spec.js, (text) => toast("error", text))) {
      values[name] = value;
    }
    sendTrigger(element.id, type, values);
  }

  for (const type of ["click", "submit", "change", "input"]) {
    document.addEventListener(type, (event) => trigger(type, event));
  }

  // The server marks its answer to a click with the gallery's id: settle the focus there as after
  // an HTTP answer's swap (into the preview when it opened, back to the thumbnail when it closed).
  document.addEventListener("htmx:ws:after:message:incoming", (event) => {
    const data = event.detail.message && event.detail.message.data;
    const answer = typeof data === "string"
      && data.match(/^(?:<!--fg-seq:\d+-->)?<!--fg-answer:([\w-]+)-->/);
    const block = answer && document.getElementById(answer[1]);
    if (block) settleFocus(block);
  }, true);

  /* ---- toolbar: fullscreen and share -------------------------------------------------- */

  function toggleFullscreen(block) {
    if (document.fullscreenElement) document.exitFullscreen();
    else if (block.requestFullscreen) block.requestFullscreen();
  }

  // An external URL item, as Gradio's Download: fetched and saved under its name; where the
  // other site does not allow the fetch (CORS) or answers with an error, opened in a new tab.
  async function downloadExternal(button) {
    const url = button.dataset.url;
    try {
      const response = await fetch(url);
      if (!response.ok) throw new TypeError(`HTTP ${response.status}`);
      const link = document.createElement("a");
      link.href = URL.createObjectURL(await response.blob());
      link.download = button.dataset.name || "image";
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (_) {
      window.open(url, "_blank", "noreferrer");
    }
  }

  async function share(button) {
    try {
      await navigator.share({ url: new URL(button.dataset.url, location.href).href });
    } catch (_) { /* the user closed the share sheet */ }
  }

  // Share means the browser's own share sheet: show the button only where it exists.
  function revealShare(root) {
    if (!navigator.share || !root.querySelectorAll) return;
    root.querySelectorAll(".fg-share[hidden]").forEach((b) => { b.hidden = false; });
  }

  /* ---- preview: keyboard, halves of the big image, focus ------------------------------ */

  function strip(block) {
    return Array.from(block.querySelectorAll(".fg-preview .fg-strip-thumb"));
  }

  function step(block, delta) {
    const thumbs = strip(block);
    if (!thumbs.length) return;
    const current = Math.max(0, thumbs.findIndex((b) => b.getAttribute("aria-current") === "true"));
    thumbs[(current + delta + thumbs.length) % thumbs.length].click();
  }

  document.addEventListener("keydown", (event) => {
    const block = blockOf(event.target);
    if (!block || !block.querySelector(".fg-preview[open]")) return;
    if (!event.target.closest(".fg-preview") && !event.target.classList.contains("fg-thumb")) return;
    if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      event.preventDefault();
      step(block, event.key === "ArrowLeft" ? -1 : 1);
    } else if (event.key === "Escape") {
      event.preventDefault();
      const close = block.querySelector(".fg-preview .fg-close");
      if (close) close.click();
    }
  });

  // Closing the preview (its button, Escape, Back): note the item it shows and whether the
  // focus was in the gallery now, not when the answer arrives, so a swap still under way cannot
  // change where the focus goes back to.
  document.addEventListener("click", (event) => {
    const close = event.target.closest && event.target.closest(".fg-preview .fg-close");
    const block = close && blockOf(close);
    if (!block) return;
    rememberSelected(block);
    block.fgHadFocus = block.contains(document.activeElement);
  }, true);

  // Remember what had focus before a swap, to put it back where the user expects after it.
  document.addEventListener("htmx:before:swap", (event) => {
    const block = blockOf(event.target);
    if (block) block.fgHadFocus = block.contains(document.activeElement);
  });

  function settleFocus(block) {
    const preview = block.querySelector(".fg-preview[open]");
    if (preview) {
      const current = preview.querySelector(".fg-strip-thumb[aria-current=true]");
      if (current) {
        if (!preview.contains(document.activeElement)) current.focus({ preventScroll: true });
        current.scrollIntoView({ block: "nearest", inline: "center" });
      }
    } else if (block.fgHadFocus && !block.contains(document.activeElement)) {
      // The preview closed under the focus: back to the thumbnail it showed, as a dialog does.
      const index = block.fgLastSelected;
      const thumb = index !== undefined && block.querySelector(`.fg-thumb[data-index="${index}"]`);
      if (!thumb && index !== undefined && revealItem(block, Number(index))) return;
      (thumb || block.querySelector(".fg-thumb") || block).focus({ preventScroll: true });
    }
    rememberSelected(block);
  }

  // The item focus goes back to when the preview closes: the one the open preview shows (its
  // dialog names it, whatever highlight the grid still draws while a swap is under way), else
  // the grid's selected thumbnail.
  function rememberSelected(block) {
    const preview = block.querySelector(".fg-preview[open][data-item]");
    const selected = preview ? null : block.querySelector(".fg-thumb[aria-pressed=true], "
      + "[aria-selected=true] > .fg-thumb");
    if (preview) block.fgLastSelected = preview.dataset.item;
    else if (selected) block.fgLastSelected = selected.dataset.index;
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest(
      ".fg-block .fg-fullscreen, .fg-block .fg-share, .fg-block .fg-download-external");
    if (button) {
      if (button.classList.contains("fg-fullscreen")) toggleFullscreen(blockOf(button));
      else if (button.classList.contains("fg-download-external")) downloadExternal(button);
      else share(button);
      return;
    }
    const frame = event.target.closest(".fg-preview .fg-preview-frame");
    if (frame) halfClick(frame, event);
    const picker = event.target.closest(".fg-block .fg-paste");
    if (picker) pasteFromClipboard(blockOf(picker));
    const webcam = event.target.closest(".fg-block .fg-webcam");
    if (webcam) openWebcam(blockOf(webcam));
  });

  /* ---- preview: zoom, pan, swipe, progressive load ----------------------------------- */

  // The big image zooms (buttons, +/-/0 keys, wheel around the pointer, double-click, pinch)
  // and, zoomed, pans (drag, or Shift+arrow keys). A horizontal swipe of one finger on the
  // unzoomed image goes to the next or previous item, as ArrowRight/ArrowLeft. Client-only: a
  // transform on the image's frame, kept per gallery while the same item is shown and reset
  // when the item changes. Videos have no frame: they are not zoomed.
  const ZOOM_MAX = 8;
  const ZOOM_STEP = 1.25;
  const PAN_STEP = 40;  // px per arrow key
  const SWIPE_MIN = 40;  // px of horizontal travel that make a swipe
  const MOVED = 5;  // px a pointer may move and still click
  const DOUBLE_CLICK_MS = 250;  // how long a click on the image waits for a second one
  const zooms = new WeakMap();  // block -> { item, scale, x, y }

  const frameOf = (block) => block.querySelector(".fg-preview[open] .fg-preview-frame");

  function zoomOf(block) {
    const frame = frameOf(block);
    if (!frame) return null;
    const dialog = frame.closest(".fg-preview");
    const item = `${dialog.dataset.item}:${dialog.dataset.link}`;
    let zoom = zooms.get(block);
    if (!zoom || zoom.item !== item) {
      zoom = { item, scale: 1, x: 0, y: 0 };
      zooms.set(block, zoom);
    }
    return zoom;
  }

  function applyZoom(block) {
    const frame = frameOf(block);
    const zoom = frame && zoomOf(block);
    if (!zoom) return;
    // The frame's own size (a transform leaves layout alone): the pan stops at its edges.
    const maxX = ((zoom.scale - 1) * frame.offsetWidth) / 2;
    const maxY = ((zoom.scale - 1) * frame.offsetHeight) / 2;
    zoom.x = Math.max(-maxX, Math.min(maxX, zoom.x));
    zoom.y = Math.max(-maxY, Math.min(maxY, zoom.y));
    const zoomed = zoom.scale > 1;
    // CSSOM, not a style attribute: allowed by a strict CSP.
    frame.style.transform = zoomed ? `translate(${zoom.x}px, ${zoom.y}px) scale(${zoom.scale})` : "";
    frame.classList.toggle("fg-zoomed", zoomed);
    frame.dataset.zoom = String(Math.round(zoom.scale * 100) / 100);
  }

  // Zoom to ``scale`` keeping the point under (clientX, clientY) where it is (the middle of
  // the image's area without a point).
  function zoomTo(block, scale, clientX, clientY) {
    const frame = frameOf(block);
    const zoom = frame && zoomOf(block);
    if (!zoom) return;
    const next = Math.max(1, Math.min(ZOOM_MAX, scale));
    const box = frame.getBoundingClientRect();
    const centreX = box.left + box.width / 2 - zoom.x;
    const centreY = box.top + box.height / 2 - zoom.y;
    const px = clientX === undefined ? 0 : clientX - centreX;
    const py = clientY === undefined ? 0 : clientY - centreY;
    zoom.x = px - (next / zoom.scale) * (px - zoom.x);
    zoom.y = py - (next / zoom.scale) * (py - zoom.y);
    zoom.scale = next;
    applyZoom(block);
  }

  const zoomBy = (block, factor, x, y) => {
    const zoom = zoomOf(block);
    if (zoom) zoomTo(block, zoom.scale * factor, x, y);
  };

  function panBy(block, dx, dy) {
    const zoom = zoomOf(block);
    if (!zoom) return;
    zoom.x += dx;
    zoom.y += dy;
    applyZoom(block);
  }

  const isZoomed = (block) => { const zoom = zoomOf(block); return !!zoom && zoom.scale > 1; };

  // Gradio: the left half of the big image goes back, the right half forward. Not while it
  // is zoomed (a click there ends a pan), nor after a drag; the first click of a double-click
  // waits to see whether a second follows (a double-click zooms).
  function halfClick(frame, event) {
    const block = blockOf(frame);
    clearTimeout(block.fgClickTimer);
    if (frame.fgMoved || isZoomed(block) || event.detail > 1) return;
    const box = frame.getBoundingClientRect();
    const delta = event.clientX - box.left < box.width / 2 ? -1 : 1;
    if (event.detail === 0) step(block, delta);  // not a pointer's click
    else block.fgClickTimer = setTimeout(() => step(block, delta), DOUBLE_CLICK_MS);
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest(
      ".fg-preview .fg-zoom-in, .fg-preview .fg-zoom-out, .fg-preview .fg-zoom-reset");
    if (!button) return;
    const block = blockOf(button);
    if (button.classList.contains("fg-zoom-in")) zoomBy(block, ZOOM_STEP);
    else if (button.classList.contains("fg-zoom-out")) zoomBy(block, 1 / ZOOM_STEP);
    else zoomTo(block, 1);
  });

  document.addEventListener("dblclick", (event) => {
    const frame = event.target.closest && event.target.closest(".fg-preview .fg-preview-frame");
    if (!frame) return;
    const block = blockOf(frame);
    clearTimeout(block.fgClickTimer);
    zoomTo(block, isZoomed(block) ? 1 : 2, event.clientX, event.clientY);
  });

  // Bound on each frame (in syncPreview), not on the document: a wheel listener that may
  // cancel makes the browser wait for the script before it scrolls, and should cost that only
  // over the image.
  function onWheel(event) {
    const block = blockOf(event.currentTarget);
    if (event.deltaY > 0 && !isZoomed(block)) return;  // the page scrolls on
    event.preventDefault();
    zoomBy(block, Math.exp(-Math.max(-100, Math.min(100, event.deltaY)) / 300), event.clientX, event.clientY);
  }

  // Captured, before the preview's ArrowLeft/ArrowRight navigation: zoomed, Shift+arrows pan
  // (the arrows alone still go to the previous or next item).
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const block = blockOf(event.target);
    if (!block || !frameOf(block)) return;
    if (!event.target.closest(".fg-preview") && !event.target.classList.contains("fg-thumb")) return;
    const pans = { ArrowLeft: [PAN_STEP, 0], ArrowRight: [-PAN_STEP, 0], ArrowUp: [0, PAN_STEP], ArrowDown: [0, -PAN_STEP] };
    if (event.key === "+" || event.key === "=") zoomBy(block, ZOOM_STEP);
    else if (event.key === "-") zoomBy(block, 1 / ZOOM_STEP);
    else if (event.key === "0") zoomTo(block, 1);
    else if (pans[event.key] && event.shiftKey && isZoomed(block)) {
      event.stopPropagation();
      panBy(block, ...pans[event.key]);
    } else return;
    event.preventDefault();
  }, true);

  // Pointers on the frame: one drags (pans when zoomed, swipes when not), two pinch.
  const pointers = new Map();  // pointerId -> { x, y }
  let gesture = null;  // { block, frame, x, y, pinch: { distance, scale }, touch, moved }

  const spread = () => {
    const [a, b] = Array.from(pointers.values());
    return { distance: Math.hypot(a.x - b.x, a.y - b.y), x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
  };

  document.addEventListener("pointerdown", (event) => {
    const frame = event.target.closest && event.target.closest(".fg-preview .fg-preview-frame");
    if (!frame || (event.pointerType === "mouse" && event.button !== 0)) return;
    const block = blockOf(frame);
    if (gesture && gesture.frame !== frame) return;
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    frame.setPointerCapture(event.pointerId);
    frame.fgMoved = false;
    if (!gesture) {
      gesture = { block, frame, x: event.clientX, y: event.clientY, pinch: null,
        touch: event.pointerType === "touch", moved: false };
    }
    if (pointers.size === 2) gesture.pinch = { ...spread(), scale: zoomOf(block).scale };
  });

  document.addEventListener("pointermove", (event) => {
    const last = pointers.get(event.pointerId);
    if (!gesture || !last) return;
    const { block, frame } = gesture;
    const dx = event.clientX - last.x;
    const dy = event.clientY - last.y;
    last.x = event.clientX;
    last.y = event.clientY;
    if (Math.hypot(event.clientX - gesture.x, event.clientY - gesture.y) > MOVED) gesture.moved = true;
    if (!gesture.moved) return;
    frame.classList.add("fg-moving");
    if (gesture.pinch && pointers.size === 2) {
      const now = spread();
      zoomTo(block, (gesture.pinch.scale * now.distance) / gesture.pinch.distance, now.x, now.y);
      panBy(block, now.x - gesture.pinch.x, now.y - gesture.pinch.y);
      gesture.pinch.x = now.x;
      gesture.pinch.y = now.y;
    } else if (pointers.size === 1 && isZoomed(block)) {
      panBy(block, dx, dy);
    }
  });

  function endPointer(event) {
    if (!gesture || !pointers.has(event.pointerId)) return;
    pointers.delete(event.pointerId);
    if (pointers.size) return;
    const { block, frame, touch, moved, pinch } = gesture;
    const travelX = event.clientX - gesture.x;
    const travelY = event.clientY - gesture.y;
    gesture = null;
    frame.classList.remove("fg-moving");
    frame.fgMoved = moved;  // the click that follows a drag is no click on a half
    setTimeout(() => { frame.fgMoved = false; }, 0);
    if (!touch || pinch || event.type === "pointercancel" || isZoomed(block)) return;
    if (Math.abs(travelX) >= SWIPE_MIN && Math.abs(travelX) > 2 * Math.abs(travelY)) {
      step(block, travelX < 0 ? 1 : -1);
    }
  }
  document.addEventListener("pointerup", endPointer);
  document.addEventListener("pointercancel", endPointer);
  // The browser's own drag of an image would take the pointer from a pan.
  document.addEventListener("dragstart", (event) => {
    if (event.target.closest && event.target.closest(".fg-preview-frame")) event.preventDefault();
  });

  // Progressive load: the frame shows the item's thumbnail (the strip's, so already fetched)
  // until the full file has loaded; CSS hides the full image while its thumbnail stands in, so
  // the previous item's full image never shows over the next one's thumbnail.
  document.documentElement.classList.add("fg-progressive");

  function showFull(media) {
    const low = media.parentElement && media.parentElement.querySelector(".fg-preview-low");
    if (low) low.hidden = true;
  }
  const fullLoaded = (event) => {
    if (event.target.matches && event.target.matches(".fg-preview-frame > .fg-preview-media")) showFull(event.target);
  };
  document.addEventListener("load", fullLoaded, true);  // load does not bubble
  document.addEventListener("error", fullLoaded, true);  // nor stay on a thumbnail for ever

  function syncPreview(block) {
    const frame = frameOf(block);
    if (!frame) { zooms.delete(block); return; }
    if (!frame.fgWheel) {
      frame.fgWheel = true;
      frame.addEventListener("wheel", onWheel, { passive: false });
    }
    applyZoom(block);  // a redraw of the same item keeps its zoom; another item starts unzoomed
    const media = frame.querySelector(".fg-preview-media");
    if (media && media.complete) showFull(media);
  }

  /* ---- preview: deep links and the Back button --------------------------------------- */

  // An open preview is in the address bar, as ?fg-preview=<gallery>:<item id> (one value per
  // gallery; the server opens it again from that URL, see page/deep_link.py). Opening one
  // pushes a history entry, so Back closes it (the close goes to the server as a click on
  // Close); moving to another item replaces the entry; closing it goes back over the entry it
  // pushed, or takes the parameter out of the URL the page was opened with.
  const LINK = "fg-preview";
  const links = new Map();  // gallery name -> { key, pushed }
  const drawn = new WeakSet();  // blocks seen already: what they show later, the user opened

  const galleryOf = (value) => value.slice(0, Math.max(0, value.indexOf(":")));

  function linkIn(name) {
    if (!location.search.includes(LINK)) return null;  // most pages, after every swap
    const value = new URL(location.href).searchParams.getAll(LINK)
      .find((v) => v.includes(":") && galleryOf(v) === name);
    return value === undefined ? null : value.slice(value.indexOf(":") + 1);
  }

  function urlWith(name, key) {
    const url = new URL(location.href);
    const others = url.searchParams.getAll(LINK).filter((v) => galleryOf(v) !== name);
    url.searchParams.delete(LINK);
    for (const value of others) url.searchParams.append(LINK, value);
    if (key) url.searchParams.append(LINK, `${name}:${key}`);
    return url.href;
  }

  function syncHistory(block) {
    const name = block.dataset.gallery;
    if (!name || !block.dataset.page) return;
    const dialog = block.querySelector(".fg-preview[open][data-link]");
    const key = dialog ? dialog.dataset.link : null;
    if (key) (block.fgLinked ||= new Map()).set(key, dialog.dataset.item);  // for Forward
    const shown = links.get(name);
    const first = !drawn.has(block);
    drawn.add(block);
    if (key && !shown) {
      // Open as drawn (selected_index, preview=True, this page's own link): named in the
      // URL in place, no entry pushed without the user's doing.
      const push = !first && linkIn(name) !== key;
      if (push) history.pushState({ fgPreview: name }, "", urlWith(name, key));
      else history.replaceState(history.state, "", urlWith(name, key));
      links.set(name, { key, pushed: push });
    } else if (key && shown.key !== key) {
      history.replaceState(history.state, "", urlWith(name, key));
      shown.key = key;
    } else if (!key && shown) {
      links.delete(name);
      if (shown.pushed && history.state && history.state.fgPreview === name) history.back();
      else history.replaceState(history.state, "", urlWith(name, null));
    } else if (!key && linkIn(name) !== null) {
      history.replaceState(history.state, "", urlWith(name, null));  // a stale or made-up link
    }
  }

  // htmx restores a history entry it made (the page's first) by fetching the page again: not
  // when only the preview's link changed, which popstate below handles.
  const withoutLinks = (href) => {
    const url = new URL(href, location.href);
    url.searchParams.delete(LINK);
    return url.href;
  };
  let pageUrl = withoutLinks(location.href);
  document.addEventListener("htmx:before:history:restore", (event) => {
    if (withoutLinks(location.href) === pageUrl) event.preventDefault();
  });

  window.addEventListener("popstate", () => {
    links.forEach((shown, name) => {
      if (linkIn(name) === shown.key) return;
      shown.pushed = false;  // Back took its entry already
      const block = blockNamed(name);
      const close = block && block.querySelector(".fg-preview[open] .fg-close");
      if (close) close.click();
    });
    // Forward (or Back) onto an entry naming a preview this page showed and closed: open it
    // again on that item, as a click on its thumbnail (the server then draws it, and the entry
    // stays the one the history is on).
    if (!location.search.includes(LINK)) return;
    document.querySelectorAll(".fg-block[data-gallery]").forEach((block) => {
      const name = block.dataset.gallery;
      const key = linkIn(name);
      const index = key !== null && !links.has(name) && block.fgLinked && block.fgLinked.get(key);
      const thumb = index && block.querySelector(`.fg-grid .fg-thumb[data-index="${index}"]`);
      if (thumb) thumb.click();
    });
  });

  let syncedHref = null;
  const syncAll = () => {
    document.querySelectorAll(".fg-block").forEach((block) => {
      syncPreview(block);
      syncHistory(block);
    });
    if (location.href !== syncedHref) {
      syncedHref = location.href;
      pageUrl = withoutLinks(syncedHref);
    }
  };
  document.addEventListener("htmx:after:swap", syncAll);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", syncAll);
  else syncAll();

  /* ---- uploads: picker, drop, clipboard, webcam --------------------------------------- */

  function upload(block, files, source) {
    const url = block.dataset.actions && `${block.dataset.actions}/upload`;
    if (!url || !files.length) return;
    const form = new FormData();
    for (const file of files) form.append("files", file, file.name || "clipboard");
    form.append("source", source);
    if (source === "upload") for (const [name, value] of runListenerJs(block, "upload")) form.append(name, value);
    const bar = document.createElement("div");
    bar.className = "fg-upload-progress";
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-label", "Uploading");
    bar.innerHTML = "<span></span>";
    block.appendChild(bar);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    for (const [name, value] of Object.entries(headersOf(block))) xhr.setRequestHeader(name, value);
    xhr.setRequestHeader("HX-Request", "true");
    xhr.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      const percent = Math.round((100 * e.loaded) / e.total);
      bar.firstChild.style.width = `${percent}%`;
      bar.setAttribute("aria-valuenow", String(percent));
    });
    xhr.addEventListener("loadend", () => {
      bar.remove();
      if (xhr.status === 200) {
        htmx.swap({ sourceElement: block, target: block, swap: "outerMorph", text: xhr.responseText, transition: false })
          .then(() => document.dispatchEvent(new CustomEvent("fg:uploaded", { detail: { gallery: block.dataset.gallery } })));
      } else if (xhr.status) {
        toast("error", messageOf(xhr.responseText) || `Upload failed (${xhr.status}).`);
      } else {
        toast("error", "Upload failed: the server could not be reached.");
      }
    });
    xhr.send(form);
  }

  document.addEventListener("change", (event) => {
    const input = event.target.closest(".fg-block .fg-file-input");
    if (!input) return;
    upload(blockOf(input), Array.from(input.files), "upload");
    input.value = "";
  });

  const droppable = (event) => {
    const block = blockOf(event.target);
    return block && block.querySelector(".fg-file-input") ? block : null;
  };
  document.addEventListener("dragover", (event) => {
    const block = droppable(event);
    if (!block) return;
    event.preventDefault();
    block.classList.add("fg-dragging");
  });
  document.addEventListener("dragleave", (event) => {
    const block = droppable(event);
    if (block && !block.contains(event.relatedTarget)) block.classList.remove("fg-dragging");
  });
  document.addEventListener("drop", (event) => {
    const block = droppable(event);
    if (!block) return;
    event.preventDefault();
    block.classList.remove("fg-dragging");
    upload(block, Array.from(event.dataTransfer.files), "upload");
  });

  const NO_MEDIA = "No image or video found in clipboard";
  const isMedia = (type) => /^(image|video)\//.test(type);

  async function pasteFromClipboard(block) {
    try {
      const files = [];
      for (const item of await navigator.clipboard.read()) {
        const type = item.types.find(isMedia);
        if (type) {
          const blob = await item.getType(type);
          files.push(new File([blob], `clipboard.${type.split("/")[1]}`, { type }));
        }
      }
      if (files.length) upload(block, files, "clipboard");
      else toast("warning", NO_MEDIA);
    } catch (_) {
      toast("warning", "The clipboard could not be read: allow clipboard access, or press Ctrl+V on the gallery.");
    }
  }

  document.addEventListener("paste", (event) => {
    const block = droppable(event);
    if (!block || !block.querySelector(".fg-paste")) return;
    const files = Array.from(event.clipboardData.files).filter((f) => isMedia(f.type));
    event.preventDefault();
    if (files.length) upload(block, files, "clipboard");
    else toast("warning", NO_MEDIA);
  });

  async function openWebcam(block) {
    if (block.querySelector(".fg-webcam-view")) return;
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: true });
    } catch (_) {
      toast("warning", "The webcam could not be opened: allow camera access.");
      return;
    }
    const view = document.createElement("div");
    view.className = "fg-webcam-view";
    view.innerHTML = '<video autoplay playsinline muted></video>'
      + '<button type="button" class="fg-button fg-capture" aria-label="Capture">&#9679;</button>'
      + '<button type="button" class="fg-button fg-webcam-close" aria-label="Close webcam">&times;</button>';
    const video = view.querySelector("video");
    video.srcObject = stream;
    const stop = () => { stream.getTracks().forEach((track) => track.stop()); view.remove(); };
    view.querySelector(".fg-webcam-close").addEventListener("click", stop);
    view.querySelector(".fg-capture").addEventListener("click", () => {
      const canvas = document.createElement("canvas");
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      canvas.getContext("2d").drawImage(video, 0, 0);
      canvas.toBlob((blob) => {
        stop();
        if (blob) upload(block, [new File([blob], "webcam.png", { type: "image/png" })], "webcam");
      }, "image/png");
    });
    block.appendChild(view);
  }

  /* ---- windowed grid: fetch windows as they near the view, drop the farthest ----------- */

  // A large gallery's grid comes as windows (.fg-window): the first drawn, the others empty
  // placeholders of their exact height (gallery.css), so the scrollbar spans the whole gallery.
  // A window is fetched once it stays near the view for a moment (a scrollbar dragged past it
  // fetches nothing); past data-keep drawn windows, the farthest from the view go back to
  // placeholders (never one holding the focus), so the DOM stays bounded.
  const WINDOW_SETTLE_MS = 80;

  function watchWindows(grid) {
    if (!grid.fgNear) {
      grid.fgNear = new Set();
      const wrap = grid.closest(".fg-grid-wrap");
      const scrolls = wrap && wrap.scrollHeight > wrap.clientHeight + 1;
      grid.fgObserver = new IntersectionObserver((entries) => {
        for (const entry of entries) {
          if (entry.isIntersecting) {
            grid.fgNear.add(entry.target);
            entry.target.fgFailed = false;  // a window that failed is asked for again
          } else grid.fgNear.delete(entry.target);
        }
        clearTimeout(grid.fgSettle);
        grid.fgSettle = setTimeout(() => settleWindows(grid), WINDOW_SETTLE_MS);
      }, { root: scrolls ? wrap : null, rootMargin: "50% 0px" });
    }
    grid.querySelectorAll(":scope > .fg-window").forEach((w) => grid.fgObserver.observe(w));
    settleWindows(grid);
  }

  function settleWindows(grid) {
    if (!grid.isConnected) return;
    for (const win of grid.fgNear) {
      if (win.parentElement !== grid) grid.fgNear.delete(win);  // replaced by a redraw
      else if (!win.hasAttribute("data-drawn") && !win.fgLoading && !win.fgFailed) loadWindow(grid, win);
    }
    const drawn = grid.querySelectorAll(":scope > .fg-window[data-drawn]");
    const excess = drawn.length - (Number(grid.dataset.keep) || 5);
    if (excess <= 0) return;
    const near = Array.from(grid.fgNear, (win) => Number(win.dataset.start));
    const middle = near.length ? (Math.min(...near) + Math.max(...near)) / 2 : 0;
    const distance = (win) => Math.abs(Number(win.dataset.start) - middle);
    Array.from(drawn)
      .filter((win) => !grid.fgNear.has(win) && !win.contains(document.activeElement))
      .sort((a, b) => distance(b) - distance(a))
      .slice(0, excess)
      .forEach((win) => { win.removeAttribute("data-drawn"); win.replaceChildren(); });
  }

  async function loadWindow(grid, win) {
    const block = blockOf(grid);
    win.fgLoading = true;
    try {
      const response = await fetch(`${grid.dataset.windows}/${win.dataset.start}`,
        { headers: { ...headersOf(block), "HX-Request": "true" } });
      const html = await response.text();
      if (!response.ok) {
        win.fgFailed = true;
        toastOnce(messageOf(html) || `The gallery's items could not be loaded (${response.status}).`);
        return;
      }
      if (win.parentElement !== grid || win.hasAttribute("data-drawn")) return;
      win.innerHTML = html;
      win.setAttribute("data-drawn", "");
      if (window.htmx) htmx.process(win);
      const thumb = block.fgReveal !== undefined
        && win.querySelector(`.fg-thumb[data-index="${block.fgReveal}"]`);
      if (thumb) { block.fgReveal = undefined; thumb.focus(); }
    } catch (_) {
      win.fgFailed = true;  // offline: asked for again when it nears the view again
    } finally {
      win.fgLoading = false;
    }
    settleWindows(grid);
  }

  // Bring item ``index`` of a windowed grid into view and focus it once its window is drawn
  // (the preview closed on an item the grid had not drawn). False for a grid drawn whole.
  function revealItem(block, index) {
    const grid = block.querySelector(".fg-grid[data-windows]");
    const size = grid && Number(grid.dataset.size);
    const win = size && grid.querySelector(`:scope > .fg-window[data-start="${index - (index % size)}"]`);
    if (!win) return false;
    block.fgReveal = index;
    win.scrollIntoView({ block: "nearest" });
    if (!win.hasAttribute("data-drawn") && !win.fgLoading) loadWindow(grid, win);
    return true;
  }

  /* ---- results: the WebSocket, or polling where it cannot connect --------------------- */

  const POLL_MS = 1000;
  const CONNECT_GRACE_MS = 3000;
  // A poll answered 403 (another session's page) or 410 (the page expired, or another process
  // of the server made it) will never be answered otherwise: the page stops asking, and says why
  // in a toast.
  const PAGE_GONE = [403, 410];
  // The socket's close code for the same (the server opens it to say why: a refused handshake
  // reaches a script without its reason). hx-ws does not reconnect after it.
  const SOCKET_GONE = 4410;
  const GONE = "This page is no longer known to the server. Reload the page.";

  function watchSocket(socket) {
    if (socket.fgWatched) return;
    socket.fgWatched = true;
    // htmx may have processed the page before hx-ws.js arrived (scripts are deferred, and htmx
    // starts on a timer): then the socket element was never connected. Process it again now
    // that the extension is registered (gallery.js runs after hx-ws.js).
    setTimeout(() => {
      const ws = socket._htmx && socket._htmx.ws;
      if (window.htmx && !(ws && ws.initialized)) htmx.process(socket, true);
    }, 0);
    let open = false;
    // Set from the moment a poll is scheduled until its answer is applied: the socket's close
    // and error events come again with every failed reconnect, and a second poll started while
    // one is in flight would ask for the same messages and show each of them twice.
    let timer = null;
    let gone = false;  // the page expired, or is another session's or process's: no more polls
    // The newest message this page has had, by socket (the server marks each frame of results
    // with its seq) or by poll. Polls ask for what follows it, and every (re)connection names
    // it: what the server wrote into a connection just before it dropped may never have
    // arrived, and is then sent again.
    let lastSeq = 0;
    const seen = (seq) => { if (seq > lastSeq) lastSeq = seq; };
    const poll = async () => {
      if (open || gone || !socket.isConnected) { timer = null; return; }
      const url = new URL(socket.dataset.poll, location.href);
      url.searchParams.set("after", lastSeq);
      try {
        const response = await fetch(url, { headers: { "X-Gallery-Page": socket.dataset.page } });
        if (response.ok) {
          seen(Number(response.headers.get("X-Gallery-Seq")) || 0);
          await applyUpdates(socket, await response.text());
        } else if (PAGE_GONE.includes(response.status)) {
          gone = true;
          toastOnce(messageOf(await response.text()) || GONE);
        }
      } catch (_) { /* offline for now: try again */ }
      timer = open || gone ? null : setTimeout(poll, POLL_MS);
    };
    const startPolling = () => {
      if (!open && !gone && timer === null) timer = setTimeout(poll, 0);
    };
    const connected = (ws) => {
      open = true;
      const resume = () => ws.send(JSON.stringify({ resume: lastSeq }));
      if (ws && ws.readyState === WebSocket.OPEN) resume();
      else if (ws) ws.addEventListener("open", resume, { once: true });
      // hx-ws's close event has the code only: the reason is read from the socket itself.
      if (ws) ws.addEventListener("close", (close) => {
        if (close.code !== SOCKET_GONE) return;
        gone = true;  // no polling either: the server does not know this page
        toastOnce(close.reason || GONE);
      }, { once: true });
    };
    socket.addEventListener("htmx:ws:after:connection",
      (event) => connected(event.detail.connection && event.detail.connection.socket));
    const already = liveSocket(socket);  // opened before this script watched it
    if (already) connected(already);
    socket.addEventListener("htmx:ws:after:message:incoming", (event) => {
      const data = event.detail.message && event.detail.message.data;
      const mark = typeof data === "string" && data.match(/^<!--fg-seq:(\d+)-->/);
      if (mark) seen(Number(mark[1]));
    });
    // Down, or refused over the server's caps (429/503 before the handshake: the browser sees
    // 1006, and hx-ws tries again after 0.5 s, 1 s, 2 s... up to a minute), or replaced by a
    // newer socket of this page (1008: no retry): the page polls meanwhile, and its clicks go
    // by HTTP.
    socket.addEventListener("htmx:ws:close", () => { open = false; startPolling(); });
    socket.addEventListener("htmx:ws:error", () => { open = false; startPolling(); });
    setTimeout(startPolling, CONNECT_GRACE_MS);
  }

  // scroll_to_output: the server marks the output; scroll it into view once.
  function scrollToOutputs() {
    document.querySelectorAll(".fg-scroll-marker").forEach((marker) => {
      const output = marker.parentElement;
      marker.remove();
      const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      if (output) output.scrollIntoView({ behavior: still ? "auto" : "smooth", block: "nearest" });
    });
  }

  function init(root) {
    scrollToOutputs();
    const region = document.getElementById(TOASTS);
    if (region) watchToasts(region);
    revealShare(root);
    if (!root.querySelectorAll) return;
    root.querySelectorAll(".fg-socket").forEach(watchSocket);
    root.querySelectorAll(".fg-grid[data-windows]").forEach(watchWindows);
    root.querySelectorAll(".fg-block").forEach((block) => {
      rememberSelected(block);
    });
  }

  document.addEventListener("htmx:after:swap", (event) => {
    init(event.target);
    const block = blockOf(event.target) || (event.target.classList && event.target.classList.contains("fg-block") ? event.target : null);
    document.querySelectorAll(".fg-block").forEach((b) => { if (b === block || b.fgHadFocus) settleFocus(b); });
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => init(document));
  else init(document);
})();
