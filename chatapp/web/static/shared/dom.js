// Building DOM safely: text is always text (never parsed as HTML), links are checked.
import { intlLocale } from './i18n.js';

/** el('div', {class: 'x', onclick: fn, 'aria-label': '...'}, child, 'text', ...) */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = value;
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

const URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/gi;

/** Text with http(s) links made clickable; everything else stays plain text. */
export function linkified(text) {
  const nodes = [];
  let last = 0;
  for (const match of String(text).matchAll(URL_RE)) {
    if (match.index > last) nodes.push(document.createTextNode(text.slice(last, match.index)));
    let href = null;
    try {
      const url = new URL(match[0]);
      if (url.protocol === 'http:' || url.protocol === 'https:') href = url.toString();
    } catch { href = null; }
    nodes.push(href ? el('a', { href, target: '_blank', rel: 'noopener noreferrer nofollow', text: match[0] }) : document.createTextNode(match[0]));
    last = match.index + match[0].length;
  }
  if (last < text.length) nodes.push(document.createTextNode(text.slice(last)));
  return nodes;
}

/** "980 B", "1.5 KB", "12 MB" with the reader's digits and unit names (Intl). */
export function fileSize(bytes) {
  if (!Number.isFinite(bytes)) return '';
  const [value, unit] = bytes < 1024 ? [bytes, 'byte']
    : bytes < 1024 * 1024 ? [bytes / 1024, 'kilobyte'] : [bytes / 1024 / 1024, 'megabyte'];
  const digits = unit === 'byte' || (unit === 'kilobyte' && bytes >= 10240) ? 0 : 1;
  return new Intl.NumberFormat(intlLocale(), {
    style: 'unit', unit, unitDisplay: 'short', maximumFractionDigits: digits, minimumFractionDigits: digits,
  }).format(value);
}

/** A message's time ("14:05"), with the day when it is not today ("12 бер., 14:05"). */
export function clockTime(iso) {
  const date = iso ? new Date(iso) : new Date();
  if (Number.isNaN(date.getTime())) return '';
  const today = new Date().toDateString() === date.toDateString();
  const options = today ? { hour: '2-digit', minute: '2-digit' } : { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' };
  return new Intl.DateTimeFormat(intlLocale(), options).format(date);
}

/** "now", "5 min ago", "3 hr. ago", then the date ("12 Mar") for list rows, in the reader's language. */
export function ago(iso) {
  const date = iso ? new Date(iso) : null;
  if (!date || Number.isNaN(date.getTime())) return '';
  const seconds = (Date.now() - date.getTime()) / 1000;
  const relative = new Intl.RelativeTimeFormat(intlLocale(), { numeric: 'auto', style: 'short' });
  if (seconds < 45) return relative.format(0, 'second');
  if (seconds < 3600) return relative.format(-Math.round(seconds / 60), 'minute');
  if (seconds < 86400) return relative.format(-Math.round(seconds / 3600), 'hour');
  return new Intl.DateTimeFormat(intlLocale(), { day: 'numeric', month: 'short' }).format(date);
}

export function isImage(attachment) {
  return Boolean(attachment) && /^image\/(png|jpeg|gif|webp)$/.test(attachment.content_type || '');
}
