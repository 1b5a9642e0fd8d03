/*
 * chatapp live chat widget loader, served at /widget.js. Embed with one tag:
 *
 *   <script src="https://chat.example.com/widget.js" async
 *           data-identity="<JWT signed by your site, optional>"
 *           data-title="Support" data-accent="#2563eb" data-theme="auto"
 *           data-position="right" data-label="Chat with us"></script>
 *
 * Options come from the tag's data-* attributes or from window.ChatWidgetSettings (docs/widget.md).
 * It draws the launcher at once, then imports the widget module (content-hashed, cached for a
 * year). window.ChatWidget is its only global and usable at once: calls made before the widget
 * has loaded are queued.
 */
import { adoptStyles, appearance, applyAppearance, launcherButton } from './appearance.js';
import { LAUNCHER_CSS } from './styles.js';
import { el } from '../shared/dom.js';

const OPTION_NAMES = ['title', 'subtitle', 'greeting', 'position', 'color', 'accent', 'theme', 'label',
  'requireLogin', 'name', 'identity', 'token', 'locale'];
const METHODS = ['open', 'close', 'toggle', 'identify', 'setToken', 'logout', 'on', 'off', 'setMuted'];
const OPEN_LABEL = 'Open support chat';

function readOptions(script) {
  const data = script.dataset || {};
  const settings = window.ChatWidgetSettings || {};
  const options = {};
  for (const name of OPTION_NAMES) {
    if (settings[name] !== undefined) options[name] = settings[name];
    else if (data[name] !== undefined) options[name] = data[name];
  }
  return options;
}

/**
 * The launcher as the widget draws it, shown while the widget module loads; a click before
 * then is queued as ChatWidget.open(). The widget takes over (and removes this) once it is up.
 */
function drawLauncher(options, api) {
  const look = appearance(options);
  const host = el('chatapp-launcher');
  const shadow = host.attachShadow({ mode: 'open' });
  adoptStyles(shadow, LAUNCHER_CSS);
  const button = launcherButton(look, OPEN_LABEL, () => api.open());
  const root = el('div', { class: 'root' }, button);
  applyAppearance(root, look);
  shadow.append(root);
  (document.body || document.documentElement).append(host);
  if (window.performance && performance.mark) performance.mark('chatapp-widget:launcher');
  return {
    /** The widget's own launcher is in place: focus moves over if it was here. */
    handOver(launcher) {
      const focused = shadow.activeElement === button;
      host.remove();
      if (focused && launcher) launcher.focus();
    },
  };
}

(function load() {
  if (window.ChatWidget && window.ChatWidget.loaded) return;
  const script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  if (!script || !script.src) return;
  const base = script.getAttribute('data-base') || script.src.replace(/\/widget\.js(?:[?#].*)?$/, '');
  const options = readOptions(script);
  const queue = [];
  const api = { loaded: true, version: '2' };
  for (const method of METHODS) api[method] = (...args) => { queue.push([method, args]); };
  window.ChatWidget = api;
  function start() {
    const requireLogin = options.requireLogin === true || options.requireLogin === 'true';
    const placeholder = requireLogin ? null : drawLauncher(options, api);
    // eslint-disable-next-line no-undef
    import(base + __CHATAPP_WIDGET__)
      .then((module) => module.boot(base, options, api, queue, placeholder, LAUNCHER_CSS))
      .catch((error) => console.error('chat widget could not start:', error));
  }
  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start);
}());
