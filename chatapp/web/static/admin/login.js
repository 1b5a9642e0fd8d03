// The admin sign-in form: chatapp account login, admins only.
import { Api } from '../shared/api.js';
import { TOKEN_KEY } from './session.js';
import { currentLocale, errorText, loadCatalogue, t, translateTree } from '../shared/i18n.js';

const REASONS = { expired: 'login.reason.expired', 'signed-out': 'login.reason.signedOut', forbidden: 'login.reason.forbidden' };

function safeNext(value) {
  return value && /^\/admin(\/|$)/.test(value) && !value.startsWith('//') ? value : '/admin/chat';
}

const form = document.getElementById('login-form');
const error = document.getElementById('login-error');
const submit = document.getElementById('login-submit');
const params = new URLSearchParams(location.search);
await loadCatalogue(new Api(location.origin), navigator.languages || [navigator.language]);
translateTree(document);
document.documentElement.lang = currentLocale();
if (REASONS[params.get('reason')]) error.textContent = t(REASONS[params.get('reason')]);

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const email = document.getElementById('login-email').value.trim();
  const password = document.getElementById('login-password').value;
  if (!email || !password) {
    error.textContent = t('login.missing');
    return;
  }
  submit.disabled = true;
  error.textContent = '';
  try {
    const doc = await new Api(location.origin).post('/api/auth/login', { email, password });
    if (doc.user.role !== 'admin') {
      error.textContent = t(REASONS.forbidden);
      return;
    }
    localStorage.setItem(TOKEN_KEY, doc.token);
    location.assign(safeNext(params.get('next')));
  } catch (failure) {
    error.textContent = errorText(failure);
  } finally {
    submit.disabled = false;
  }
});
