// The panel's realtime connection: shared/realtime.js's, with its channels through Laravel Echo
// (the panel joins the presence channel of the agents online; the widget needs no Echo).
import Echo from '../vendor/echo.js';
import { Realtime } from '../shared/realtime.js';

let pusherLoading = null;

/** pusher-js from chatapp's own /static/vendor (copied from npm by `make web`), a classic script. */
function loadPusher(base) {
  if (pusherLoading) return pusherLoading;
  pusherLoading = new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = `${base}/static/vendor/pusher.min.js`;
    script.async = true;
    script.onload = () => {
      script.remove();
      if (typeof window.Pusher === 'function') resolve(window.Pusher);
      else reject(new Error('pusher-js did not define Pusher'));
    };
    script.onerror = () => {
      pusherLoading = null;
      reject(new Error(`Could not load ${script.src}`));
    };
    document.head.appendChild(script);
  });
  return pusherLoading;
}

class EchoRealtime extends Realtime {
  open(Pusher, options) {
    this.echo = new Echo({ ...options, broadcaster: 'reverb', Pusher });
    return this.echo.connector.pusher;
  }

  private(name) { return this.echo.private(name); }
  join(name) { return this.echo.join(name); }
  leave(name) { this.echo.leave(name); }
}

/** /api/config, the Echo connection (null when the server has no realtime configured). */
export async function connectRealtime(base, api, config) {
  if (!config.echo || !config.echo.key) return null;
  const Pusher = await loadPusher(base);
  return new EchoRealtime({ Pusher, config: config.echo, api });
}
