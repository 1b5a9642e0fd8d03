// Translated text for the widget and the panel: the catalogue chatapp serves at /api/i18n
// (chatapp/locales/<locale>.json, the same files the server formats system messages with).
//
// Messages use the ICU MessageFormat subset chatapp/i18n.py implements too: {name}
// placeholders and {count, plural, one {# item} few {...} other {# items}} with plural
// categories from Intl.PluralRules. Dates and times go through Intl with the same locale.

const state = { locale: 'en', messages: {}, available: [], plural: /* @__PURE__ */ new Intl.PluralRules('en') };
const parsed = new Map();

/**
 * Load the best catalogue for ``preferred`` (BCP 47 tags, best first); English if none fits.
 * scope: only the keys one client uses (chatapp/i18n.py SCOPES, e.g. 'widget'); all when absent.
 */
export async function loadCatalogue(api, preferred, scope) {
  const prefer = preferred.filter(Boolean).map(String).join(',');
  const query = { ...(prefer ? { prefer } : {}), ...(scope ? { scope } : {}) };
  try {
    useCatalogue(await api.get('/api/i18n', query));
  } catch (error) {
    console.warn('chat: no catalogue, showing message keys:', error.message);
  }
  return state.locale;
}

/** doc: /api/i18n's answer {locale, messages, available}. */
export function useCatalogue(doc) {
  state.locale = doc.locale || 'en';
  state.messages = doc.messages || {};
  state.available = doc.available || [];
  state.plural = new Intl.PluralRules(intlLocale());
  parsed.clear();
}

export function currentLocale() { return state.locale; }

/** The locale handed to Intl (a pseudo-locale such as en-XA falls back to its language there). */
export function intlLocale() {
  try { return Intl.getCanonicalLocales(state.locale)[0]; } catch { return 'en'; }
}

export function availableLocales() { return state.available; }

/** The message ``key`` formatted with ``params``; the key itself when the catalogue lacks it. */
export function t(key, params = {}) {
  const pattern = state.messages[key];
  if (pattern === undefined) return key;
  if (!parsed.has(key)) parsed.set(key, parse(pattern));
  return render(parsed.get(key), params, null);
}

export function has(key) { return state.messages[key] !== undefined; }

/** What a person reads for an API or network error: the code's message, else a general one. */
export function errorText(error, params = {}) {
  if (error && error.name === 'NetworkError') return t('error.network');
  const code = error && error.code;
  if (code && has(`error.${code}`)) return t(`error.${code}`, { ...(error.doc || {}), ...params });
  return t('error.generic', { status: (error && error.status) || '?' });
}

/** "Olena", "Olena and Petro", "Olena, Petro and Ivan" in the reader's language. */
export function listText(names) {
  try {
    return new Intl.ListFormat(intlLocale(), { style: 'long', type: 'conjunction' }).format(names);
  } catch {
    return names.join(', ');
  }
}

/** Apply data-i18n="key" (text) and data-i18n-attr="attr:key;attr:key" inside ``root``. */
export function translateTree(root) {
  for (const node of root.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of node.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':').map((s) => s.trim());
      if (attr && key) node.setAttribute(attr, t(key));
    }
  }
}

// ------------------------------------------------------------------ formatter

const HASH = '\u0000#';

function parse(text) {
  const [parts, end] = parseParts(text, 0, false);
  if (end !== text.length) throw new Error(`unexpected } in ${text}`);
  return parts;
}

function parseParts(text, start, inPlural) {
  const parts = [];
  let buf = '';
  let i = start;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '}') break;
    if (ch !== '{') {
      buf += ch === '#' && inPlural ? HASH : ch;
      i += 1;
      continue;
    }
    if (buf) { parts.push(buf); buf = ''; }
    const close = matching(text, i);
    const body = text.slice(i + 1, close);
    const comma = body.indexOf(',');
    if (comma < 0) {
      parts.push({ arg: body.trim() });
    } else {
      const name = body.slice(0, comma).trim();
      const rest = body.slice(comma + 1);
      const comma2 = rest.indexOf(',');
      if (comma2 < 0 || rest.slice(0, comma2).trim() !== 'plural') throw new Error(`unsupported {${body}}`);
      parts.push({ plural: name, cases: parseCases(rest.slice(comma2 + 1)) });
    }
    i = close + 1;
  }
  if (buf) parts.push(buf);
  return [parts, i];
}

function matching(text, start) {
  let depth = 0;
  for (let j = start; j < text.length; j += 1) {
    if (text[j] === '{') depth += 1;
    else if (text[j] === '}') depth -= 1;
    if (depth === 0) return j;
  }
  throw new Error(`unbalanced { in ${text}`);
}

function parseCases(spec) {
  const cases = {};
  let i = 0;
  while (i < spec.length) {
    if (/\s/.test(spec[i])) { i += 1; continue; }
    const brace = spec.indexOf('{', i);
    if (brace < 0) break;
    const selector = spec.slice(i, brace).trim();
    const close = matching(spec, brace);
    [cases[selector]] = parseParts(spec.slice(brace + 1, close), 0, true);
    i = close + 1;
  }
  return cases;
}

function render(parts, params, number) {
  let out = '';
  for (const part of parts) {
    if (typeof part === 'string') {
      out += number === null ? part : part.split(HASH).join(new Intl.NumberFormat(intlLocale()).format(number));
    } else if (part.arg !== undefined) {
      const value = params[part.arg];
      out += value === undefined || value === null ? `{${part.arg}}` : String(value);
    } else {
      const count = Number(params[part.plural]) || 0;
      const chosen = part.cases[`=${count}`] || part.cases[state.plural.select(count)] || part.cases.other || [];
      out += render(chosen, params, count);
    }
  }
  return out;
}
