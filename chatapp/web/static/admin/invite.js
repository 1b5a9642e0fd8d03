// /admin/invite#<token>: the invitee of a team invitation chooses a name and a password, and
// lands in the panel signed in. The token is in the fragment, so it never reaches a server log.
import { Api } from '../shared/api.js';
import { TOKEN_KEY } from './session.js';
import { currentLocale, errorText, loadCatalogue, t, translateTree } from '../shared/i18n.js';

const api = new Api(location.origin);
const token = location.hash.slice(1);
const form = document.getElementById('accept-form');
const error = document.getElementById('accept-error');
const submit = document.getElementById('accept-submit');
const invalid = document.getElementById('invite-invalid');
const intro = document.getElementById('invite-intro');
await loadCatalogue(api, navigator.languages || [navigator.language]);
translateTree(document);
document.documentElement.lang = currentLocale();

const path = `/api/auth/invites/${encodeURIComponent(token)}`;
try {
  if (!/^[\w-]{20,100}$/.test(token)) throw Object.assign(new Error('no token'), { status: 404 });
  const { invite } = await api.get(path);
  intro.textContent = t('invite.intro', { email: invite.email, role: t(`team.role.${invite.role}`) });
  document.getElementById('accept-name').value = invite.name;
  form.hidden = false;
  document.getElementById('accept-password').focus();
} catch (failure) {
  if (failure.status === 404) invalid.hidden = false;
  else intro.textContent = errorText(failure);
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = document.getElementById('accept-name').value.trim();
  const password = document.getElementById('accept-password').value;
  if (password.length < 8) { error.textContent = t('invite.short'); return; }
  if (password !== document.getElementById('accept-again').value) { error.textContent = t('invite.mismatch'); return; }
  submit.disabled = true;
  error.textContent = '';
  try {
    const doc = await api.post(`${path}/accept`, name ? { name, password } : { password });
    localStorage.setItem(TOKEN_KEY, doc.token);
    history.replaceState(null, '', '/admin/invite'); // the used token leaves the address bar
    location.assign('/admin/chat');
  } catch (failure) {
    if (failure.status === 404) { form.hidden = true; invalid.hidden = false; } else error.textContent = errorText(failure);
  } finally {
    submit.disabled = false;
  }
});
