// The admin sign-in form: chatapp account login, admins only.
import { Api } from '../shared/api.js';
import { TOKEN_KEY } from './session.js';

const REASONS = {
  expired: 'Your session has expired. Please sign in again.',
  'signed-out': 'You were signed out. Please sign in again.',
  forbidden: 'That account is not a support admin.',
};

function safeNext(value) {
  return value && /^\/admin(\/|$)/.test(value) && !value.startsWith('//') ? value : '/admin/chat';
}

const form = document.getElementById('login-form');
const error = document.getElementById('login-error');
const submit = document.getElementById('login-submit');
const params = new URLSearchParams(location.search);
if (REASONS[params.get('reason')]) error.textContent = REASONS[params.get('reason')];

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const email = document.getElementById('login-email').value.trim();
  const password = document.getElementById('login-password').value;
  if (!email || !password) {
    error.textContent = 'Enter your e-mail and password.';
    return;
  }
  submit.disabled = true;
  error.textContent = '';
  try {
    const doc = await new Api(location.origin).post('/api/auth/login', { email, password });
    if (doc.user.role !== 'admin') {
      error.textContent = REASONS.forbidden;
      return;
    }
    localStorage.setItem(TOKEN_KEY, doc.token);
    location.assign(safeNext(params.get('next')));
  } catch (failure) {
    error.textContent = failure.message;
  } finally {
    submit.disabled = false;
  }
});
