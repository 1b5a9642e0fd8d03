// Renders a Thread into a role="log" list, updating nodes in place so screen readers
// announce only what is new and the scroll position survives.
import { el, linkified, fileSize, clockTime, isImage } from './dom.js';
import { errorText, has, t } from './i18n.js';

// What people wrote (names, bodies, file names) is marked data-user-content: never translated.
const USER = { 'data-user-content': '' };

/** A system message in the reader's language; its English body when older than catalogues. */
function systemText(message) {
  const system = message.system;
  return system && has(system.code) ? t(system.code, system.params || {}) : message.body;
}

/**
 * The live region around a thread's <ol>: the log role sits on a wrapper, since on the list
 * itself it would hide the list from assistive technology (items outside any list).
 */
export function messageLog(list) {
  return el('div', { role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-label': t('thread.messages') }, list);
}

export class ThreadView {
  /**
   * list: the <ol role="log"> to fill; api: fetches attachments with the token;
   * labels: {ours: 'You', theirs: m => name}; onRetry(key), onDiscard(key);
   * decorate(node, message): the panel marks its private notes (the widget never gets one).
   */
  constructor({ list, scroller, api, labels, onRetry, onDiscard, decorate = null }) {
    this.decorate = decorate;
    this.list = list;
    this.scroller = scroller || list;
    this.api = api;
    this.labels = labels;
    this.onRetry = onRetry;
    this.onDiscard = onDiscard;
    this.nodes = new Map();
    this.blobUrls = [];
  }

  /** A message keeps one node from "Sending…" to "Seen" (screen readers announce it once). */
  keyOf(message) {
    if (message.localKey) return `p${message.localKey}`;
    return message.id != null ? `m${message.id}` : `p${message.key}`;
  }

  render(thread) {
    const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop;
    const nearBottom = fromBottom - this.scroller.clientHeight < 80;
    const items = thread.list();
    const wanted = new Set(items.map((m) => this.keyOf(m)));
    for (const [key, node] of this.nodes) {
      if (!wanted.has(key)) { node.remove(); this.nodes.delete(key); }
    }
    const lastOurs = thread.lastOursId();
    const last = items[items.length - 1];
    const sentByUs = Boolean(last) && thread.ours(last) && !this.nodes.has(this.keyOf(last));
    let previous = null;
    let added = false;
    for (const message of items) {
      const key = this.keyOf(message);
      let node = this.nodes.get(key);
      if (!node) {
        node = this.build(thread, message);
        this.nodes.set(key, node);
        added = true;
      }
      this.updateStatus(node, thread, message, lastOurs);
      const expected = previous ? previous.nextSibling : this.list.firstChild;
      if (expected !== node) this.list.insertBefore(node, expected);
      previous = node;
    }
    if (added && (nearBottom || sentByUs)) this.scrollToEnd();
    else if (added) this.scroller.scrollTop = this.scroller.scrollHeight - fromBottom; // reading older messages: stay put
  }

  scrollToEnd() { this.scroller.scrollTop = this.scroller.scrollHeight; }

  build(thread, message) {
    if (message.sender_role === 'system') {
      return el('li', { class: 'msg system', dataset: { id: message.id } }, el('span', { class: 'system-text', text: systemText(message) }));
    }
    const ours = thread.ours(message);
    const who = ours ? this.labels.ours(message) : this.labels.theirs(message);
    const named = who === message.sender_name ? USER : {};
    const body = message.body ? el('p', { class: 'body', ...USER }, linkified(message.body)) : null;
    const local = message.attachment && message.attachment.local;
    const status = el('span', { class: 'status' });
    const node = el(
      'li',
      {
        class: `msg ${ours ? 'ours' : 'theirs'}`,
        dataset: { ...(message.id != null ? { id: message.id } : { key: message.key }), ...(local ? { localFile: '1' } : {}) },
      },
      el('span', { class: 'sr-only', text: `${who}: `, ...named }),
      el('div', { class: 'bubble' }, body, message.attachment ? this.attachment(message.attachment) : null),
      el('div', { class: 'meta' }, el('span', { class: 'who', 'aria-hidden': 'true', text: who, ...named }),
        el('time', { datetime: message.created_at, text: clockTime(message.created_at) }), status),
    );
    if (this.decorate) this.decorate(node, message);
    return node;
  }

  updateStatus(node, thread, message, lastOurs) {
    if (message.id != null && node.dataset.id !== String(message.id)) node.dataset.id = String(message.id);
    if (node.dataset.localFile && message.attachment && !message.attachment.local) {
      // Stored: swap the local preview for the real file (same picture, now with its download link).
      const box = node.querySelector('.attachment');
      const shown = box && box.querySelector('img');
      box.replaceWith(this.attachment(message.attachment, shown ? shown.src : null));
      delete node.dataset.localFile;
    }
    const status = node.querySelector('.status');
    if (!status) return;
    let text = '';
    let state = '';
    if (message.sender_role === 'local') {
      state = message.status;
      text = t(message.status === 'failed' ? 'thread.notSent' : 'thread.sending');
    } else if (thread.ours(message) && message.id === lastOurs) {
      state = message.read_at ? 'seen' : 'sent';
      text = t(message.read_at ? 'thread.seen' : 'thread.sent');
    }
    if (status.dataset.state === state && status.dataset.text === text) return;
    status.dataset.state = state;
    status.dataset.text = text;
    status.textContent = text ? ` · ${text}` : '';
    node.classList.toggle('failed', state === 'failed');
    node.classList.toggle('sending', state === 'sending');
    const actions = node.querySelector('.retry-actions');
    if (state === 'failed' && !actions) {
      node.append(el('div', { class: 'retry-actions' },
        el('span', { class: 'error-text', role: 'alert', text: message.error || t('thread.notSent') }),
        el('button', { type: 'button', class: 'link-button', onclick: () => this.onRetry(message.key), text: t('thread.retry') }),
        el('button', { type: 'button', class: 'link-button', onclick: () => this.onDiscard(message.key), text: t('thread.delete') })));
    } else if (state !== 'failed' && actions) {
      actions.remove();
    }
  }

  /** knownUrl: an image already in memory (my own upload), so it is not downloaded again. */
  attachment(attachment, knownUrl = null) {
    const label = `${attachment.name} (${fileSize(attachment.size)})`;
    const link = el('a', { class: 'file', href: this.api.resolve(attachment.url) || '#', download: attachment.name, text: `⬇ ${label}`, 'aria-label': t('thread.download', { file: label }), ...USER });
    link.addEventListener('click', (event) => {
      event.preventDefault();
      this.download(attachment, link);
    });
    const box = el('div', { class: 'attachment' });
    if (attachment.local) {
      if (attachment.previewUrl) box.append(el('img', { class: 'preview', src: attachment.previewUrl, alt: attachment.name }));
      box.append(el('span', { class: 'file', text: label, ...USER }));
      return box;
    }
    if (isImage(attachment) && knownUrl) {
      this.blobUrls.push(knownUrl);
      box.append(el('img', { class: 'preview', alt: attachment.name, src: knownUrl }));
    } else if (isImage(attachment)) {
      const img = el('img', { class: 'preview', alt: attachment.name, width: 220, height: 140 });
      this.api.blob(attachment.url).then((blob) => {
        const url = URL.createObjectURL(blob);
        this.blobUrls.push(url);
        img.src = url;
        img.removeAttribute('width');
        img.removeAttribute('height');
      }).catch(() => img.replaceWith(el('span', { class: 'file-error', text: t('thread.previewUnavailable') })));
      box.append(img);
    }
    box.append(link);
    return box;
  }

  async download(attachment, link) {
    link.setAttribute('aria-busy', 'true');
    try {
      const blob = await this.api.blob(attachment.url);
      const url = URL.createObjectURL(blob);
      const a = el('a', { href: url, download: attachment.name });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 30000);
    } catch (error) {
      link.after(el('span', { class: 'file-error', role: 'alert', text: ` ${t('thread.downloadFailed', { reason: errorText(error) })}` }));
    } finally {
      link.removeAttribute('aria-busy');
    }
  }

  clear() {
    for (const url of this.blobUrls) URL.revokeObjectURL(url);
    this.blobUrls = [];
    this.nodes.clear();
    this.list.replaceChildren();
  }
}
