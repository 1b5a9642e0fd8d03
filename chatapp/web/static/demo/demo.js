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

  async function call(path, body) {
    var response = await fetch(path, {
      method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify(body),
    });
    var doc = await response.json().catch(function () { return {}; });
    if (!response.ok) throw new Error(doc.message || ('HTTP ' + response.status));
    return doc;
  }

  function show() {
    var current = load();
    document.getElementById('signin').hidden = Boolean(current);
    document.getElementById('signed-in').hidden = !current;
    document.getElementById('signed-in-name').textContent = current ? current.name : '';
  }

  async function signIn(register) {
    var email = document.getElementById('signin-email').value;
    var password = document.getElementById('signin-password').value;
    var error = document.getElementById('signin-error');
    error.textContent = '';
    try {
      var doc = await call(register ? '/api/auth/register' : '/api/auth/login', { email: email, password: password });
      localStorage.setItem(KEY, JSON.stringify({ token: doc.token, name: doc.user.name }));
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
    document.getElementById('signout-button').addEventListener('click', function () {
      localStorage.removeItem(KEY);
      show();
      if (window.ChatWidget) window.ChatWidget.logout();
    });
    document.getElementById('open-chat').addEventListener('click', function () { if (window.ChatWidget) window.ChatWidget.open(); });
  });
})();
