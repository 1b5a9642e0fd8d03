// The signed-in admin's own account in the top bar: sign out here, sign out everywhere,
// change the password. The server revokes the tokens; a 401 anywhere sends the panel to
// the login page (see session.js), so other devices leave as soon as they next ask.
import { TOKEN_KEY, signOut } from './session.js';
import { errorText, t } from '../shared/i18n.js';

export class AccountMenu {
  /** api: the panel's Api (its token is replaced after a password change). */
  constructor({ api }) {
    this.api = api;
    this.dialog = document.getElementById('password-dialog');
    this.form = document.getElementById('password-form');
    this.error = document.getElementById('password-error');
    this.notice = document.getElementById('account-notice');
  }

  start() {
    document.getElementById('logout-button').addEventListener('click', () => this.signOutHere());
    document.getElementById('logout-all-button').addEventListener('click', () => this.signOutEverywhere());
    document.getElementById('password-button').addEventListener('click', () => this.openPasswordDialog());
    document.getElementById('password-cancel').addEventListener('click', () => this.dialog.close());
    this.form.addEventListener('submit', (event) => { event.preventDefault(); this.changePassword(); });
  }

  /** Revoke this token on the server (best effort: a dead token is already signed out), then leave. */
  async signOutHere() {
    try { await this.api.post('/api/auth/logout'); } catch { /* signed out either way */ }
    signOut();
  }

  async signOutEverywhere() {
    try {
      await this.api.post('/api/auth/logout-all');
    } catch (error) {
      if (error.status === 401) return; // already revoked: the 401 handler took us to the login page
      this.notice.textContent = t('account.failed', { reason: errorText(error) });
      return;
    }
    signOut();
  }

  openPasswordDialog() {
    this.form.reset();
    this.error.textContent = '';
    this.dialog.showModal();
  }

  async changePassword() {
    const current = this.form.elements.namedItem('current_password').value;
    const fresh = this.form.elements.namedItem('new_password').value;
    if (fresh !== this.form.elements.namedItem('new_password_again').value) {
      this.error.textContent = t('account.mismatch');
      return;
    }
    const submit = document.getElementById('password-submit');
    submit.disabled = true;
    this.error.textContent = '';
    try {
      const doc = await this.api.post('/api/auth/password', { current_password: current, new_password: fresh });
      // The live connection is ended with every old token; it reconnects with this one.
      this.api.token = doc.token;
      localStorage.setItem(TOKEN_KEY, doc.token);
      this.dialog.close();
      this.notice.textContent = t('account.changed');
    } catch (error) {
      this.error.textContent = errorText(error);
    } finally {
      submit.disabled = false;
    }
  }
}
