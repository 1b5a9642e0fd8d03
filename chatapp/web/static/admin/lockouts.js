// Sign-in lockouts and back-offs: shown to support only while there are recent ones.
import { el, clockTime } from '../shared/dom.js';
import { t } from '../shared/i18n.js';

const TEXT = {
  summary: (n) => t('lockouts.summary', { count: n }),
  address: (lk) => t('lockouts.address', { account: lk.account, count: lk.failures, address: lk.address, until: clockTime(lk.until) }),
  account: (lk) => t('lockouts.account', { account: lk.account, count: lk.failures, address: lk.address }),
};
const REFRESH_MS = 60_000;

export class Lockouts {
  constructor({ api }) {
    this.api = api;
    this.root = document.getElementById('lockouts');
    this.summary = document.getElementById('lockouts-summary');
    this.list = document.getElementById('lockouts-list');
  }

  async start() {
    await this.load();
    setInterval(() => this.load().catch(() => {}), REFRESH_MS);
  }

  async load() {
    const { data } = await this.api.get('/api/admin/lockouts');
    this.root.hidden = data.length === 0;
    this.summary.textContent = TEXT.summary(data.length);
    this.list.replaceChildren(...data.map((lk) => el('li', { class: `lockout ${lk.kind}`, dataset: { account: lk.account } },
      el('time', { datetime: lk.at, text: clockTime(lk.at) }), ' ', TEXT[lk.kind](lk))));
  }
}
