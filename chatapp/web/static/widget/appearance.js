// How the widget looks on the host page, from the script tag's data-* options: theme, accent
// colour, side and launcher label. The loader (drawing the launcher at once) and the full widget
// both read the options here, so they never disagree.
import { el } from '../shared/dom.js';
import { icon } from '../shared/icons.js';

const THEMES = ['auto', 'light', 'dark'];
const HEX_COLOUR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;
const MAX_LABEL = 40;
const DARK_INK = '#111827';
const LIGHT_INK = '#ffffff';

function channels(hex) {
  const digits = hex.length === 4 ? hex.slice(1).replace(/./g, '$&$&') : hex.slice(1);
  return [0, 2, 4].map((at) => parseInt(digits.slice(at, at + 2), 16) / 255);
}

/** WCAG relative luminance of a #rgb / #rrggbb colour. */
function luminance(hex) {
  const [r, g, b] = channels(hex).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function contrastRatio(a, b) {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (light + 0.05) / (dark + 0.05);
}

/** The text colour (white or near-black) that reads best on ``accent``. */
export function inkFor(accent) {
  return contrastRatio(accent, LIGHT_INK) >= contrastRatio(accent, DARK_INK) ? LIGHT_INK : DARK_INK;
}

/**
 * options: {theme, accent (or the older name color), position, label}; anything invalid falls
 * back to the default (auto theme, the stylesheet's blue, right side, no label).
 */
export function appearance(options) {
  const theme = THEMES.includes(options.theme) ? options.theme : 'auto';
  const wanted = String(options.accent || options.color || '').trim();
  const accent = HEX_COLOUR.test(wanted) ? wanted.toLowerCase() : '';
  return {
    theme,
    accent,
    accentInk: accent ? inkFor(accent) : '',
    position: options.position === 'left' ? 'left' : 'right',
    label: String(options.label || '').trim().slice(0, MAX_LABEL),
  };
}

/** The widget's stylesheet in its shadow root; a constructed sheet passes a host page's CSP. */
export function adoptStyles(shadow, css) {
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    shadow.adoptedStyleSheets = [sheet];
  } catch {
    shadow.append(el('style', { text: css }));
  }
}

/** Theme, side and colours onto the widget's root element (inside its shadow root). */
export function applyAppearance(root, look) {
  root.dataset.theme = look.theme;
  root.classList.toggle('left', look.position === 'left');
  if (look.accent) {
    root.style.setProperty('--accent', look.accent);
    root.style.setProperty('--accent-ink', look.accentInk);
  }
}

/** The round (or, with a label, pill-shaped) button in the corner. */
export function launcherButton(look, ariaLabel, onclick) {
  return el('button', {
    type: 'button', class: `launcher${look.label ? ' has-label' : ''}`, 'aria-expanded': 'false',
    'aria-controls': 'chatapp-panel', 'aria-label': ariaLabel, onclick,
  }, icon('chat'), icon('down'), look.label ? el('span', { class: 'launcher-label', text: look.label }) : null);
}
