// The panel's realtime connection: shared/realtime.js's, with its channels through Laravel Echo
// (the panel joins the presence channel of the agents online; the widget needs no Echo).
import Echo from '../vendor/echo.js';
import { Realtime, connectRealtime as connect } from '../shared/realtime.js';

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
export function connectRealtime(base, api, config) { return connect(base, api, config, EchoRealtime); }
