// Where the visitor is, in the details pane: browser and OS (read by the server from User-Agent),
// language, time zone with their local time, the current page, where they came from, this
// chat's page trail (newest first) and the host site's own attributes of the contact. The room's
// answer brings it; the admin feed's room.page moves it on as the visitor navigates.
import { el } from '../shared/dom.js';
import { intlLocale, t } from '../shared/i18n.js';

const TRAIL = 50; // as the server keeps (chatapp.page_context.TRAIL_LENGTH)

const when = (iso) => new Date(iso).toLocaleString(intlLocale(), { dateStyle: 'short', timeStyle: 'short' });
const people = (text) => el('span', { text, 'data-user-content': '' }); // what the site or visitor wrote

/** A link to a page the visitor saw: opened in a new tab, never with this panel as its opener. */
function pageLink(page) {
  return el('a', { href: page.url, target: '_blank', rel: 'noopener noreferrer', title: page.url, 'data-user-content': '',
    text: page.title || t('room.visit.untitled') });
}

/** The language's name in the agent's own (the browser's Intl data, not the catalogue) and its tag. */
function languageName(tag) {
  let name = tag;
  try { name = `${new Intl.DisplayNames([intlLocale()], { type: 'language' }).of(tag)} (${tag})`; } catch { /* the tag alone */ }
  return el('span', { translate: 'no', text: name });
}

function zoneText(zone) {
  try {
    const time = new Date().toLocaleTimeString(intlLocale(), { timeZone: zone, timeStyle: 'short' });
    return t('room.visit.localTime', { zone, time });
  } catch { return zone; }
}

const versioned = (name, version) => (name && version ? `${name} ${version}` : name);

export class VisitDetails {
  constructor() {
    this.heading = el('h3', { id: 'visit-title', text: t('room.visit.title') });
    this.facts = el('dl', { id: 'visit-facts' });
    this.trailHeading = el('h4', { id: 'visit-trail-title', text: t('room.visit.trail') });
    this.trail = el('ol', { id: 'visit-trail', class: 'visit-trail', 'aria-labelledby': 'visit-trail-title' });
    this.none = el('p', { class: 'muted', id: 'visit-none', text: t('room.visit.none') });
    this.attributesHeading = el('h4', { id: 'visit-attributes-title', text: t('room.visit.attributes') });
    this.attributes = el('dl', { id: 'visit-attributes', 'aria-labelledby': 'visit-attributes-title' });
    this.node = el('section', { class: 'visit-section', 'aria-labelledby': 'visit-title' },
      this.heading, this.facts, this.none, this.trailHeading, this.trail, this.attributesHeading, this.attributes);
    this.roomId = null;
    this.context = null;
  }

  /** The context of the chat now on screen (the room answer's ``context``). */
  show(roomId, context) {
    this.roomId = roomId;
    this.context = { ...context, pages: [...(context.pages || [])] };
    this.render();
  }

  /** The feed's room.page: a page view of some chat; only the one on screen is shown. */
  page({ room_id: roomId, page, context }) {
    if (roomId !== this.roomId || !this.context) return;
    const pages = this.context.pages;
    if (pages.length && pages[0].url === page.url) pages.shift(); // a reload moves the newest view
    this.context = { ...this.context, ...context, pages: [page, ...pages].slice(0, TRAIL) };
    this.render();
  }

  render() {
    const c = this.context;
    const browser = versioned(c.browser, c.browser_version);
    const os = versioned(c.os, c.os_version);
    const rows = [];
    if (browser || os) {
      // Product names, never translated; with both, the catalogue's "{browser} on {os}".
      rows.push(['browser', browser && os ? t('room.visit.browserOn', { browser, os }) : el('span', { translate: 'no', text: browser || os })]);
    }
    if (c.language) rows.push(['language', languageName(c.language)]);
    if (c.time_zone) rows.push(['timeZone', zoneText(c.time_zone)]);
    if (c.pages.length) rows.push(['currentPage', pageLink(c.pages[0])]);
    if (c.referrer) {
      rows.push(['referrer', el('a', { href: c.referrer, target: '_blank', rel: 'noopener noreferrer', 'data-user-content': '', text: c.referrer })]);
    }
    this.facts.replaceChildren(...rows.flatMap(([term, value]) => [
      el('dt', { text: t(`room.visit.${term}`) }), el('dd', { dataset: { fact: term } }, value)]));
    this.none.hidden = c.pages.length > 0;
    this.trailHeading.hidden = this.trail.hidden = c.pages.length === 0;
    this.trail.replaceChildren(...c.pages.map((page) => el('li', {},
      pageLink(page), ' ', el('time', { class: 'muted', datetime: page.viewed_at, text: when(page.viewed_at) }))));
    const attributes = Object.entries(c.attributes || {});
    this.attributesHeading.hidden = this.attributes.hidden = attributes.length === 0;
    this.attributes.replaceChildren(...attributes.flatMap(([name, value]) => [
      el('dt', {}, people(name)), el('dd', {}, people(String(value)))]));
  }
}
