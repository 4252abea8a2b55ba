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

// The same view the server renders after a form post without JavaScript (SignupPage.Sent).
function showSent(body) {
  const section = document.getElementById("result");
  const heading = element("h1", { id: "result-heading", tabindex: "-1" }, "Check your inbox");
  section.replaceChildren(
    heading,
    element("p", { id: "sent-note" }, body.detail),
    element("p", {}, "No e-mail after a few minutes? Check your spam folder, or ", element("a", { href: "/" }, "ask for a new link"), "."));
  const support = document.querySelector("#signup-view .support");
  if (support) section.append(support.cloneNode(true));
  document.getElementById("signup-view").hidden = true;
  section.hidden = false;
  document.title = "Check your inbox";
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
      body: JSON.stringify({ email: data.email, firstname: data.firstname, lastname: data.lastname, plan: data.plan || undefined }),
    });
    const body = await response.json().catch(() => ({}));
    if (response.status === 202) {
      showErrors(form, null);
      showSent(body);
      return;
    }
    const first = showErrors(form, body);
    // The server's detail already says when to try again (a 429 names the seconds left in its window), so it is shown alone.
    showMessage(body.detail || body.title || "Something went wrong. Please try again.");
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
