// Progressive enhancement: without this script the form posts normally and the server renders the result page.
// User data is only ever placed with textContent / value, never parsed as HTML.
"use strict";

function wireCopyButtons(root) {
  for (const button of root.querySelectorAll("button[data-copy]")) {
    button.addEventListener("click", async () => {
      const input = document.getElementById(button.dataset.copy);
      try {
        await navigator.clipboard.writeText(input.value);
        button.textContent = "Copied";
      } catch {
        input.select();
        button.textContent = "Press Ctrl+C";
      }
    });
  }
}

function element(tag, attributes, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function showErrors(form, problem) {
  for (const old of form.querySelectorAll(".field-error")) old.remove();
  for (const input of form.querySelectorAll("input[aria-invalid]")) input.removeAttribute("aria-invalid");
  const errors = (problem && problem.errors) || {};
  for (const [field, messages] of Object.entries(errors)) {
    const input = form.querySelector(`input[name="${CSS.escape(field)}"]`);
    if (!input) continue;
    const span = element("span", { class: "field-error", id: `${field}-error` }, messages.join(" "));
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", span.id);
    input.after(span);
  }
}

function showResult(section, nodes) {
  section.replaceChildren(...nodes);
  section.hidden = false;
  wireCopyButtons(section);
}

async function submitSignup(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const section = document.getElementById("result");
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
      form.hidden = true;
      showErrors(form, null);
      const input = element("input", { id: "api-key", type: "text", readonly: "", autocomplete: "off", spellcheck: "false" });
      input.value = body.apiKey;
      showResult(section, [
        element("h2", {}, "You're signed up"),
        element("label", { for: "api-key" }, "Your API key"),
        input,
        element("button", { type: "button", class: "copy", "data-copy": "api-key" }, "Copy"),
        element("p", { class: "warning" }, "This is the only time the key is shown. Store it somewhere safe now."),
        element("p", {}, "Send it in the x-api-key header of every request."),
      ]);
    } else {
      showErrors(form, body);
      showResult(section, [element("p", { class: "error", role: "alert" }, body.detail || body.title || "Something went wrong. Please try again.")]);
    }
  } catch {
    showResult(section, [element("p", { class: "error", role: "alert" }, "We could not reach the server. Please try again.")]);
  } finally {
    button.disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("signup");
  if (form) form.addEventListener("submit", submitSignup);
  wireCopyButtons(document);
});
