/*
 * chatapp live chat widget loader. Embed with one tag:
 *
 *   <script src="https://chat.example.com/widget.js" async
 *           data-identity="<JWT signed by your site, optional>"
 *           data-title="Support" data-color="#2563eb"></script>
 *
 * Options come from the tag's data-* attributes or from window.ChatWidgetSettings.
 * window.ChatWidget is usable at once: calls made before the widget loads are queued.
 */
(function () {
  'use strict';
  if (window.ChatWidget && window.ChatWidget.loaded) return;
  var script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  if (!script || !script.src) return;
  var base = script.getAttribute('data-base') || script.src.replace(/\/widget\.js(?:[?#].*)?$/, '');
  var data = script.dataset || {};
  var settings = window.ChatWidgetSettings || {};
  var options = {};
  var names = ['title', 'subtitle', 'greeting', 'position', 'color', 'requireLogin', 'name', 'identity', 'token'];
  for (var i = 0; i < names.length; i++) {
    var name = names[i];
    if (settings[name] !== undefined) options[name] = settings[name];
    else if (data[name] !== undefined) options[name] = data[name];
  }
  var queue = [];
  var api = { loaded: true, version: '1' };
  ['open', 'close', 'toggle', 'identify', 'setToken', 'logout', 'on', 'off', 'setMuted'].forEach(function (method) {
    api[method] = function () { queue.push([method, Array.prototype.slice.call(arguments)]); };
  });
  window.ChatWidget = api;
  function start() {
    import(base + '/static/widget/widget.js')
      .then(function (module) { return module.boot(base, options, api, queue); })
      .catch(function (error) { console.error('chat widget could not start:', error); });
  }
  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start);
})();
