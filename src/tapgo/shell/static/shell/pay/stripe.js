// The Stripe card page. Stripe.js turns the card into a payment method id (the number never
// reaches our server); the form posts that id and our server confirms the payment with
// Stripe. When the bank asks for 3-D Secure, the server sends the page back with the
// payment's client secret; Stripe.js runs the challenge and the page asks our server to look
// again. Nothing here decides that a payment succeeded. No inline scripts (CSP).
(function () {
  "use strict";

  var form = document.getElementById("stripe-pay");
  if (!form) return;
  var button = form.querySelector("button[type=submit]");
  var errorBox = document.getElementById("card-error");
  var waiting = document.getElementById("card-waiting");
  var authenticated = document.getElementById("stripe-authenticated");

  function showError(message) {
    errorBox.textContent = message || form.getAttribute("data-error-card");
    errorBox.hidden = false;
    waiting.hidden = true;
    button.disabled = false;
  }

  function busy() {
    errorBox.hidden = true;
    waiting.hidden = false;
    button.disabled = true;
  }

  if (typeof window.Stripe !== "function") {
    showError(form.getAttribute("data-error-load"));
    button.disabled = true;
    return;
  }
  var stripe = window.Stripe(form.getAttribute("data-publishable-key"));

  var clientSecret = form.getAttribute("data-client-secret");
  if (clientSecret) {
    // 3-D Secure for a payment our server has confirmed. Whatever the browser hears, the
    // server asks Stripe how the payment stands.
    busy();
    var step = stripe.handleNextAction
      ? stripe.handleNextAction({ clientSecret: clientSecret })
      : stripe.confirmCardPayment(clientSecret);
    Promise.resolve(step).then(
      function () { authenticated.submit(); },
      function () { authenticated.submit(); }
    );
    return;
  }

  var card = stripe.elements().create("card");
  card.mount("#card-element");
  button.disabled = false;

  function errorMessage(result) {
    return result && result.error && result.error.message;
  }

  // A PaymentMethod id from the real Stripe.js. A stand-in without createPaymentMethod
  // (localstripe, in the tests) answers undefined: a token's card id serves there.
  function paymentMethodId() {
    return Promise.resolve(stripe.createPaymentMethod({ type: "card", card: card }))
      .then(function (result) {
        if (result && result.paymentMethod) return result.paymentMethod.id;
        if (result && result.error) throw new Error(errorMessage(result));
        return stripe.createToken(card).then(function (tokenResult) {
          if (tokenResult && tokenResult.token && tokenResult.token.card) {
            return tokenResult.token.card.id;
          }
          throw new Error(errorMessage(tokenResult) || "");
        });
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (button.disabled) return;
    busy();
    paymentMethodId().then(
      function (id) {
        form.querySelector("input[name=payment_method]").value = id;
        form.submit();
      },
      function (error) { showError(error && error.message); }
    );
  });
})();
