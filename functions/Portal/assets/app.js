// Progressive enhancement: without this script the form posts normally and the server renders the result page.
// User data is only ever placed with textContent, never parsed as HTML.
"use strict";

function wireCopyButtons(root) {
  for (const button of root.querySelectorAll("button[data-copy]")) {
    const label = button.textContent;
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      try {
        await navigator.clipboard.writeText(source.textContent);
        button.textContent = "Copied";
      } catch {
        const range = document.createRange();
        range.selectNodeContents(source);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        button.textContent = "Selected: press Ctrl+C";
      }
      setTimeout(() => { button.textContent = label; }, 4000);
    });
  }
}

function element(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

function showErrors(form, problem) {
  for (const old of form.querySelectorAll(".field-error")) old.remove();
  for (const input of form.querySelectorAll("input[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  }
  const errors = (problem && problem.errors) || {};
  let first = null;
  for (const [field, messages] of Object.entries(errors)) {
    const input = form.querySelector(`input[name="${CSS.escape(field)}"]`);
    if (!input) continue;
    const span = element("span", { class: "field-error", id: `${field}-error` }, messages.join(" "));
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", span.id);
    input.after(span);
    first = first || input;
  }
  return first;
}

function showMessage(text) {
  const region = document.getElementById("signup-message");
  region.replaceChildren(element("p", { class: "error", role: "alert" }, text));
}

function paymentLink(url) {
  return element("p", {}, element("a", { class: "button", id: "continue-to-payment", href: url }, "Continue to payment"));
}

// The same view the server renders for a form post without JavaScript (SignupPage.Registered, SignupPage.AwaitingPayment).
function showRegistered(body, apiBase) {
  const curl = `curl -H "x-api-key: ${body.apiKey}" ${apiBase.replace(/\/+$/, "")}/`;
  const section = document.getElementById("result");
  const awaitingPayment = body.status === "awaiting_payment" && body.checkoutUrl;
  const heading = element("h1", { id: "result-heading", tabindex: "-1" }, awaitingPayment ? "Your API key: one step left" : "Your API key is ready");
  section.replaceChildren(
    heading,
    element("div", { class: "key" },
      element("p", { class: "key-label", id: "api-key-label" }, "Your API key"),
      element("code", { id: "api-key", class: "key-value", "aria-labelledby": "api-key-label" }, body.apiKey),
      element("button", { type: "button", class: "copy", "data-copy": "api-key" }, "Copy key")),
    element("p", { class: "key-id" }, "Key id: ", element("code", { id: "api-key-id" }, body.apiKeyId)),
    element("p", { class: "warning" }, "This is the only time the key is shown. Store it somewhere safe now."));
  if (awaitingPayment) {
    section.append(
      element("p", { class: "warning", id: "activation-note" }, "The key is disabled until a payment method is set up. Usage is billed monthly through Stripe."),
      paymentLink(body.checkoutUrl));
  }
  section.append(
    element("h2", {}, "Calling the API"),
    element("p", {}, "Send the key in the ", element("code", {}, "x-api-key"), " header of every request to ", element("code", {}, apiBase), ", for example:"),
    element("pre", { class: "example" }, element("code", { id: "curl-example" }, curl)),
    element("button", { type: "button", class: "copy", "data-copy": "curl-example" }, "Copy command"));
  const support = document.querySelector("#signup-view .support");
  if (support) section.append(support.cloneNode(true));
  document.getElementById("signup-view").hidden = true;
  section.hidden = false;
  document.title = "Your API key";
  wireCopyButtons(section);
  // Moving focus to the new heading makes screen readers read it, and keyboard users continue from there.
  heading.focus();
}

async function submitSignup(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector("button[type=submit]");
  const data = Object.fromEntries(new FormData(form));
  button.disabled = true;
  try {
    const response = await fetch("/register", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ email: data.email, firstname: data.firstname, lastname: data.lastname }),
    });
    const body = await response.json().catch(() => ({}));
    if (response.status === 201) {
      showErrors(form, null);
      showRegistered(body, form.dataset.apiBase);
      return;
    }
    const first = showErrors(form, body);
    // The server's detail already says when to try again (a 429 names the seconds left in its window), so it is shown alone.
    showMessage(body.detail || body.title || "Something went wrong. Please try again.");
    if (body.checkoutUrl) document.getElementById("signup-message").append(paymentLink(body.checkoutUrl));
    if (first) first.focus();
  } catch {
    showMessage("We could not reach the server. Please try again.");
  } finally {
    button.disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("signup");
  if (form) form.addEventListener("submit", submitSignup);
  wireCopyButtons(document);
  const autofocus = document.querySelector("[data-autofocus]");
  if (autofocus) autofocus.focus();
});
