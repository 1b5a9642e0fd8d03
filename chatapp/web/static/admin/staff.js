// The "Team" dialog of the top bar, for the owner and admins (agents do not see the button):
// every staff account with role, status and last activity; an invitation form that shows the
// one-time link; a role select per member; deactivate and reactivate after a confirmation.
// The server decides who may change whom (/api/admin/team); what it refuses is shown as its error.
import { ago, el } from '../shared/dom.js';
import { errorText, t } from '../shared/i18n.js';

const ROUTE = '/api/admin/team';
const ROLES = ['owner', 'admin', 'agent'];
export const MANAGERS = ['owner', 'admin'];

function field(id, label, control) {
  return el('div', { class: 'field' }, el('label', { for: id, text: label }), control);
}

export class TeamManager {
  constructor({ api, me, button }) {
    this.api = api;
    this.me = me;
    this.button = button;
  }

  start() {
    this.button.hidden = !MANAGERS.includes(this.me.staff_role);
    if (this.button.hidden) return;
    this.button.addEventListener('click', () => this.open());
  }

  build() {
    if (this.dialog) return;
    this.error = el('p', { id: 'team-error', class: 'form-error', role: 'alert' });
    this.rows = el('tbody', { id: 'team-members' });
    this.invites = el('ul', { id: 'team-invites', class: 'team-invites' });
    this.invitesHeading = el('h3', { text: t('team.pending') });
    this.email = el('input', { id: 'invite-email', name: 'email', type: 'email', autocomplete: 'off', required: true });
    this.name = el('input', { id: 'invite-name', name: 'name', type: 'text', autocomplete: 'off', maxlength: 100 });
    this.role = el('select', { id: 'invite-role', name: 'role' },
      ...['agent', 'admin'].map((role) => el('option', { value: role, text: t(`team.role.${role}`) })));
    this.submit = el('button', { type: 'submit', id: 'invite-submit', class: 'primary', text: t('team.invite') });
    this.result = el('div', { id: 'invite-result', class: 'invite-result', role: 'status' });
    this.form = el('form', { id: 'invite-form', class: 'invite-form', novalidate: true, 'aria-labelledby': 'invite-title' },
      el('h3', { id: 'invite-title', text: t('team.inviteTitle') }),
      field('invite-email', t('team.email'), this.email),
      field('invite-name', t('team.name'), this.name),
      field('invite-role', t('team.role'), this.role),
      el('div', { class: 'dialog-actions' }, this.submit),
      this.result);
    this.form.addEventListener('submit', (event) => { event.preventDefault(); this.invite(); });
    this.dialog = el('dialog', { id: 'team-dialog', class: 'canned-dialog team-dialog', 'aria-labelledby': 'team-title' },
      el('div', { class: 'canned-head' },
        el('h2', { id: 'team-title', text: t('team.title') }),
        el('button', { type: 'button', id: 'team-close', class: 'ghost', text: t('team.close'), onclick: () => this.dialog.close() })),
      el('p', { class: 'muted', text: t('team.intro') }),
      el('table', { class: 'team-table' },
        el('thead', {}, el('tr', {},
          ...['name', 'role', 'status', 'lastActive', 'actions'].map((key) => el('th', { scope: 'col', text: t(`team.column.${key}`) })))),
        this.rows),
      this.error,
      this.invitesHeading, this.invites,
      this.form);
    this.confirmText = el('p', { id: 'team-confirm-text' });
    this.confirmButton = el('button', { type: 'button', id: 'team-confirm', class: 'danger' });
    this.confirmBox = el('dialog', { id: 'team-confirm-dialog', class: 'password-dialog', 'aria-describedby': 'team-confirm-text' },
      this.confirmText,
      el('div', { class: 'dialog-actions' },
        el('button', { type: 'button', id: 'team-confirm-cancel', text: t('team.cancel'), onclick: () => this.confirmBox.close() }),
        this.confirmButton));
    this.confirmButton.addEventListener('click', () => this.confirmed());
    document.body.append(this.dialog, this.confirmBox);
  }

  /** The team changed (team.updated): an open dialog shows it as it is now. */
  changed() {
    if (this.dialog && this.dialog.open) this.reload();
  }

  async open() {
    this.build();
    this.result.replaceChildren();
    this.error.textContent = '';
    this.dialog.showModal();
    await this.reload();
  }

  async reload() {
    try {
      const doc = await this.api.get(ROUTE);
      this.render(doc.data, doc.invites);
    } catch (error) {
      this.error.textContent = errorText(error);
    }
  }

  render(members, invites) {
    this.rows.replaceChildren(...members.map((member) => this.row(member)));
    this.invites.replaceChildren(...invites.map((invite) => el('li', { dataset: { id: invite.id } },
      el('span', { 'data-user-content': '', text: `${invite.name} <${invite.email}>` }), ' · ',
      t(`team.role.${invite.role}`), ' · ',
      t('team.expires', { when: new Date(invite.expires_at).toLocaleDateString() }), ' ',
      el('button', {
        type: 'button', class: 'ghost', dataset: { action: 'withdraw' }, text: t('team.withdraw'),
        'aria-label': t('team.withdrawLabel', { email: invite.email }), onclick: () => this.withdraw(invite),
      }))));
    this.invitesHeading.hidden = invites.length === 0;
  }

  row(member) {
    const mine = member.id === this.me.id;
    const name = el('td', {}, el('span', { 'data-user-content': '', text: member.name }),
      mine ? ` ${t('team.you')}` : '', el('div', { class: 'muted', 'data-user-content': '', text: member.email || '' }));
    const select = el('select', { class: 'team-role', 'aria-label': t('team.roleOf', { name: member.name }), dataset: { action: 'role' } },
      ...ROLES.map((role) => el('option', { value: role, text: t(`team.role.${role}`), selected: role === member.role })));
    // What the server would refuse is not offered: the owner's row, my own, and admins' unless I am the owner.
    const owner = this.me.staff_role === 'owner';
    select.disabled = mine || member.role === 'owner' || (member.role === 'admin' && !owner);
    if (!owner) select.querySelector('option[value="owner"]').disabled = true;
    select.addEventListener('change', () => this.changeRole(member, select));
    const status = member.active ? t('team.active') : t('team.deactivated');
    const toggle = el('button', {
      type: 'button',
      class: member.active ? 'danger' : '',
      dataset: { action: member.active ? 'deactivate' : 'reactivate' },
      text: t(member.active ? 'team.deactivate' : 'team.reactivate'),
      'aria-label': t(member.active ? 'team.deactivateLabel' : 'team.reactivateLabel', { name: member.name }),
      onclick: () => this.ask(member, member.active ? 'deactivate' : 'reactivate'),
    });
    toggle.hidden = select.disabled;
    return el('tr', { dataset: { id: member.id, role: member.role, active: String(member.active) } },
      name,
      el('td', {}, select),
      el('td', { class: member.active ? 'team-active' : 'team-inactive', text: status }),
      el('td', { text: member.last_active_at ? ago(member.last_active_at) : t('team.never') }),
      el('td', {}, toggle));
  }

  ask(member, action, role) {
    this.pending = { member, action, role };
    const key = { deactivate: 'team.confirmDeactivate', reactivate: 'team.confirmReactivate', owner: 'team.confirmOwner' }[action];
    this.confirmText.textContent = t(key, { name: member.name });
    this.confirmButton.textContent = t(action === 'owner' ? 'team.makeOwner' : `team.${action}`);
    this.confirmBox.showModal();
  }

  async confirmed() {
    const { member, action } = this.pending || {};
    if (!member) return;
    this.confirmButton.disabled = true;
    this.error.textContent = '';
    try {
      if (action === 'owner') await this.api.request('PUT', `${ROUTE}/${member.id}/role`, { json: { role: 'owner' } });
      else await this.api.post(`${ROUTE}/${member.id}/${action}`);
      if (action === 'owner') this.me = { ...this.me, staff_role: 'admin' };
    } catch (error) {
      this.error.textContent = errorText(error);
    } finally {
      this.confirmButton.disabled = false;
      this.pending = null;
      this.confirmBox.close();
      await this.reload();
    }
  }

  async changeRole(member, select) {
    const role = select.value;
    if (role === 'owner') {
      select.value = member.role;
      this.ask(member, 'owner');
      return;
    }
    this.error.textContent = '';
    try {
      await this.api.request('PUT', `${ROUTE}/${member.id}/role`, { json: { role } });
    } catch (error) {
      this.error.textContent = errorText(error);
    }
    await this.reload();
  }

  async withdraw(invite) {
    this.error.textContent = '';
    try {
      await this.api.request('DELETE', `${ROUTE}/invites/${invite.id}`);
    } catch (error) {
      if (error.status !== 404) this.error.textContent = errorText(error); // 404: accepted or withdrawn meanwhile
    }
    await this.reload();
  }

  async invite() {
    this.submit.disabled = true;
    this.error.textContent = '';
    this.result.replaceChildren();
    const email = this.email.value.trim();
    try {
      const body = { email, role: this.role.value };
      if (this.name.value.trim()) body.name = this.name.value.trim();
      const doc = await this.api.post(`${ROUTE}/invites`, body);
      const link = el('input', { id: 'invite-link', type: 'text', readonly: true, value: doc.link, 'aria-label': t('team.linkLabel') });
      const copy = el('button', { type: 'button', id: 'invite-copy', text: t('team.copy') });
      copy.addEventListener('click', async () => {
        link.select();
        try { await navigator.clipboard.writeText(doc.link); copy.textContent = t('team.copied'); } catch { /* selected: copy by hand */ }
      });
      this.result.append(
        el('p', { text: t(doc.mailed ? 'team.mailed' : 'team.linkIntro', { email }) }),
        el('div', { class: 'invite-link' }, link, copy));
      this.email.value = '';
      this.name.value = '';
      await this.reload();
    } catch (error) {
      this.error.textContent = errorText(error);
    } finally {
      this.submit.disabled = false;
    }
  }
}
