// The demo store's own login (chatapp accounts), handed to the widget as a token.
// A real site would sign its user's identity instead: see docs/widget.md.
(function () {
  'use strict';
  var KEY = 'northwind.session';
  function load() {
    try { return JSON.parse(localStorage.getItem(KEY) || 'null'); } catch (e) { return null; }
  }
  var session = load();
  var params = new URLSearchParams(location.search);
  window.ChatWidgetSettings = {};
  if (params.get('identity')) window.ChatWidgetSettings.identity = params.get('identity');
  else if (session && session.token) window.ChatWidgetSettings.token = session.token;

  async function call(path, body, token) {
    var headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    if (token) headers.Authorization = 'Bearer ' + token;
    var response = await fetch(path, { method: body ? 'POST' : 'GET', headers: headers, body: body && JSON.stringify(body) });
    var doc = await response.json().catch(function () { return {}; });
    if (!response.ok) throw new Error(doc.message || ('HTTP ' + response.status));
    return doc;
  }

  function show() {
    var current = load();
    document.getElementById('signin').hidden = Boolean(current);
    document.getElementById('signed-in').hidden = !current;
    document.getElementById('signed-in-name').textContent = current ? current.name : '';
    showVerification(current);
  }

  // A new account's address is unverified until the link mailed to it is opened (docs/chatapp.md).
  var NOTES = {
    sent: 'Check your e-mail: we sent a link to confirm {email}.',
    unavailable: 'E-mail confirmation is not available here, so your address stays unconfirmed.',
    again: 'Sent again: check your e-mail for the newest link.',
  };

  function note(text, resend) {
    document.getElementById('verify-note').hidden = !text;
    document.getElementById('verify-text').textContent = text || '';
    document.getElementById('verify-resend').hidden = !resend;
  }

  async function showVerification(current) {
    if (!current || !current.verification) return note('');
    note(NOTES[current.verification].replace('{email}', current.email), current.verification === 'sent');
    var me = await call('/api/auth/me', null, current.token).catch(function () { return null; });
    if (me && me.user.email_verified) {
      localStorage.setItem(KEY, JSON.stringify({ token: current.token, name: current.name }));
      note('');
    }
  }

  async function resend() {
    var current = load();
    try {
      await call('/api/auth/email/resend', {}, current.token);
      note(NOTES.again, true);
    } catch (e) {
      note(e.message, false);
    }
  }

  async function signIn(register) {
    var email = document.getElementById('signin-email').value;
    var password = document.getElementById('signin-password').value;
    var error = document.getElementById('signin-error');
    error.textContent = '';
    try {
      var doc = await call(register ? '/api/auth/register' : '/api/auth/login', { email: email, password: password });
      localStorage.setItem(KEY, JSON.stringify({
        token: doc.token, name: doc.user.name, email: doc.user.email,
        verification: doc.user.email_verified ? undefined : doc.email_verification,
      }));
      show();
      if (window.ChatWidget) window.ChatWidget.setToken(doc.token);
    } catch (e) {
      error.textContent = e.message;
    }
  }

  document.addEventListener('DOMContentLoaded', function () {
    show();
    document.getElementById('signin').addEventListener('submit', function (event) { event.preventDefault(); signIn(false); });
    document.getElementById('register-button').addEventListener('click', function () {
      if (document.getElementById('signin').reportValidity()) signIn(true);
    });
    document.getElementById('verify-resend').addEventListener('click', resend);
    document.getElementById('signout-button').addEventListener('click', function () {
      localStorage.removeItem(KEY);
      show();
      if (window.ChatWidget) window.ChatWidget.logout();
    });
    document.getElementById('open-chat').addEventListener('click', function () { if (window.ChatWidget) window.ChatWidget.open(); });
  });
})();
