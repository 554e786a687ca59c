// @ts-check
// The sign-in page: PAM username and password, exchanged for a salt-api token.

import { login } from "../api.js";
import { h, render } from "../dom.js";
import { Page } from "./page.js";

export class LoginPage extends Page {
  /**
   * The login form. The context's `signIn.message` is shown above the form (e.g. "Your
   * session expired"); `signIn.onSignedIn(session)` runs after a successful login.
   * @param {HTMLElement} container
   */
  mount(container) {
    mountLogin(container, this.context.signIn);
  }
}

/**
 * @param {HTMLElement} container
 * @param {{message?: string | null, onSignedIn: (session: any) => void}} options
 */
function mountLogin(container, { message = null, onSignedIn }) {
  const username = h("input", {
    id: "login-username",
    name: "username",
    class: "input",
    autocomplete: "username",
    autocapitalize: "none",
    spellcheck: "false",
    required: true,
  });
  const password = h("input", {
    id: "login-password",
    name: "password",
    type: "password",
    class: "input",
    autocomplete: "current-password",
    required: true,
  });
  const error = h("p", { class: "form-error", id: "login-error", role: "alert" });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block", text: "Sign in" });

  const form = h(
    "form",
    { class: ["card", "login-card"], method: "post", "aria-labelledby": "login-heading", novalidate: true },
    h(
      "div",
      { class: "login-brand" },
      h("img", { src: "favicon.svg", alt: "", width: "40", height: "40" }),
      h("span", { text: "Brine" }),
    ),
    h("h1", { id: "login-heading", text: "Sign in" }),
    h("p", { class: "muted", text: "Use your account on the Salt master." }),
    message && h("p", { class: "login-message", role: "status", dataset: { testid: "login-message" }, text: message }),
    h("div", { class: "field" }, h("label", { for: "login-username", text: "Username" }), username),
    h("div", { class: "field" }, h("label", { for: "login-password", text: "Password" }), password),
    error,
    submit,
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (!username.value.trim() || !password.value) {
      error.textContent = "Enter your username and password.";
      (username.value.trim() ? password : username).focus();
      return;
    }
    submit.disabled = true;
    submit.replaceChildren(h("span", { class: "spinner", "aria-hidden": "true" }), "Signing in…");
    try {
      const session = await login(username.value.trim(), password.value);
      onSignedIn(session);
    } catch (err) {
      error.textContent = err.message;
      password.value = "";
      password.focus();
      submit.disabled = false;
      submit.replaceChildren("Sign in");
    }
  });

  render(container, h("div", { class: "login-wrap" }, form));
  username.focus();
}
