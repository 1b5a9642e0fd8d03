// E-mail (chatapp.mail) is off while CHATAPP_SMTP_URL is unset: the top bar says so beside the
// connection status, so no agent expects a visitor who left to be mailed the answer, e-mail
// alerts of unseen messages, or replies by e-mail to come in.
import { t } from '../shared/i18n.js';

export function mailOffNotice(beside) {
  const notice = document.createElement('span');
  notice.id = 'mail-off';
  notice.className = 'top-badge';
  notice.textContent = t('panel.mailOff');
  notice.title = t('panel.mailOffHint');
  beside.after(notice);
}
