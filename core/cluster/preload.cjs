// Velos's Node preload, loaded with `node -r` into every Node program Velos
// runs. Each part acts only when Velos set it up for this process:
//
//  1. Shared ports. When Velos holds the program's listening sockets
//     (LISTEN_FDS = n with LISTEN_PID = this pid, VELOS_LISTEN_PORTS = their
//     ports, passed as fd 3, 4, …), a listen() on one of those ports takes the
//     inherited socket instead of binding: every instance serves one socket,
//     and a restart or reload never refuses a connection. It tells Velos once
//     the server listens (readiness).
//  2. Learning. With VELOS_LEARN=1 (a single instance with no port given),
//     each server the program starts on a port of its own choosing is handed
//     to Velos once it listens, so that the next run takes it (1.).
//  3. Graceful stop. When the stop signal comes and the program has no
//     handler of its own, those servers stop accepting, answer the requests
//     in flight and each next request of a keep-alive connection with
//     Connection: close, close what stays idle, and the process then dies
//     of the signal as it would have.
//  4. Event-loop lag, sent to Velos every 5 s over the IPC channel.
//
// Set VELOS_NODE_PRELOAD=0 in a process's env to leave the program alone.
'use strict';
(function velosPreload() {
  const env = process.env;
  const ports = (env.VELOS_LISTEN_PORTS || '').split(',').filter(Boolean).map(Number);
  const hosts = (env.VELOS_LISTEN_HOSTS || '').split(','); // '' for every interface
  const inherited = ports.length > 0 && env.LISTEN_FDS === String(ports.length) && env.LISTEN_PID === String(process.pid);
  const learn = env.VELOS_LEARN === '1';
  const stopSignal = env.VELOS_STOP_SIGNAL || 'SIGTERM';
  // Children of this program must not take the sockets or these settings.
  for (const k of ['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES', 'VELOS_LISTEN_PORTS', 'VELOS_LISTEN_HOSTS', 'VELOS_LEARN', 'VELOS_STOP_SIGNAL']) {
    delete env[k];
  }
  const canSend = () => typeof process.send === 'function' && process.connected;
  const send = (msg, handle) => {
    if (!canSend()) return;
    try { handle ? process.send(msg, handle, () => {}) : process.send(msg); } catch (_) { /* Velos went away */ }
  };

  if (inherited || learn) {
    const net = require('net');
    const servers = new Set();
    const taken = new Set();
    let closing = false;
    // The host a listen() asks for: listen(port, host, …) or {port, host}.
    const hostOf = (args) => {
      const a = args[0];
      if (a !== null && typeof a === 'object') return typeof a.host === 'string' ? a.host : '';
      return typeof args[1] === 'string' ? args[1] : '';
    };
    const anyHost = (h) => h === '' || h === '0.0.0.0' || h === '::' || h === '[::]';
    const portOf = (args) => {
      let a = args[0];
      if (a !== null && typeof a === 'object') {
        if (a._handle || a.fd !== undefined || a.path !== undefined) return -1;
        a = a.port;
      }
      if (typeof a === 'string' && /^[0-9]+$/.test(a)) a = Number(a);
      return typeof a === 'number' ? a : -1;
    };
    let onStop = null;
    const track = (server) => {
      // The stop handler is installed with the first server, so that a
      // program without one keeps Node's own handling of the signal.
      if (!onStop) {
        onStop = stop;
        process.on(stopSignal, onStop);
      }
      servers.add(server);
      server.once('close', () => servers.delete(server));
      // Runs before the program's own handler: once stopping, every answer
      // closes its connection, so clients reconnect to a live instance.
      server.prependListener('request', (req, res) => { if (closing) res.shouldKeepAlive = false; });
    };
    const listen = net.Server.prototype.listen;
    net.Server.prototype.listen = function velosListen(...args) {
      const port = portOf(args);
      const i = inherited ? ports.indexOf(port) : -1;
      if (port > 0 && i >= 0 && !taken.has(port)) {
        // The socket is bound where Velos bound it: a program that asks for
        // one address (127.0.0.1) must not serve on every interface.
        const want = hostOf(args);
        if (!anyHost(want) && want !== hosts[i] && !(want === 'localhost' && (hosts[i] === '127.0.0.1' || hosts[i] === '::1'))) {
          throw new Error(`velos: listen(${port}, "${want}"): Velos holds port ${port} on ${hosts[i] || 'every interface'}; ` +
            `set listen = "${want}:${port}" (or listen on every interface)`);
        }
        taken.add(port);
        track(this);
        this.once('listening', () => send({ velos: 'listening', port }));
        const cb = args.find((a) => typeof a === 'function');
        return cb ? listen.call(this, { fd: 3 + i }, cb) : listen.call(this, { fd: 3 + i });
      }
      if (port > 0 && learn) {
        track(this);
        this.once('listening', () => send({ velos: 'socket', port }, this));
      }
      return listen.apply(this, args);
    };

    const stop = () => {
      if (process.listenerCount(stopSignal) > 1) return; // the program stops itself
      if (closing) return;
      closing = true;
      let open = servers.size;
      const die = () => {
        process.removeListener(stopSignal, onStop);
        process.kill(process.pid, stopSignal);
      };
      if (open === 0) return die();
      for (const s of servers) {
        // Stop accepting, but keep the connections: http's close() would
        // also drop idle keep-alive ones, and the request a client is
        // sending on one right then would be lost. Each next request is
        // answered (with Connection: close, see track); what stays idle
        // for a second is closed then.
        net.Server.prototype.close.call(s, () => { if (--open === 0) die(); });
        if (typeof s.closeIdleConnections === 'function') {
          setTimeout(() => s.closeIdleConnections(), 1000).unref();
        }
      }
    };
  }

  if (typeof process.send === 'function') {
    let h = null;
    try {
      h = require('perf_hooks').monitorEventLoopDelay({ resolution: 20 });
      h.enable();
    } catch (_) { h = null; }
    if (h) {
      const t = setInterval(() => {
        send({ velos: 'lag', p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 });
        h.reset();
      }, 5000);
      t.unref();
    }
  }
})();
