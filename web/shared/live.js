// The live-slots feed: one WebSocket (its address from a ticket) subscribed to the doctor-days a page shows.
// Each `{type: "slots", doctorId, date, slots}` message goes to `onSlots`; `onMode` hears "live" once connected,
// "down" while reconnecting (with a growing pause), "unavailable" when the server offers no WebSocket, "closed".

export class LiveSlots {
  constructor(api, { onSlots, onMode = () => {}, max = 20 }) {
    this.api = api;
    this.onSlots = onSlots;
    this.onMode = onMode;
    this.max = max; // the server's limit of doctor-days per connection
    this.socket = null;
    this.wanted = new Set();
    this.followed = new Set();
    this.retries = 0;
    this.timer = null;
    this.wantOpen = false;
  }

  start() {
    if (!this.wantOpen) this.connect();
  }

  follow(keys) {
    // keys: `${doctorId}|${date}`; the socket is told only what changed
    this.wanted = new Set([...keys].slice(0, this.max));
    this.sync();
  }

  sync() {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    for (const key of [...this.followed]) {
      if (this.wanted.has(key)) continue;
      const [doctorId, date] = key.split('|');
      socket.send(JSON.stringify({ action: 'unsubscribe', doctorId, date }));
      this.followed.delete(key);
    }
    for (const key of this.wanted) {
      if (this.followed.has(key)) continue;
      const [doctorId, date] = key.split('|');
      socket.send(JSON.stringify({ action: 'subscribe', doctorId, date }));
      this.followed.add(key);
    }
  }

  async connect() {
    this.wantOpen = true;
    clearTimeout(this.timer);
    if (this.socket) {
      const old = this.socket;
      this.socket = null;
      old.close();
    }
    let ticket;
    try {
      ticket = await this.api.json('POST', '/api/realtime/ticket');
    } catch (err) {
      if (!this.wantOpen) return;
      this.onMode('down');
      this.later();
      return;
    }
    if (!this.wantOpen) return;
    if (!ticket || !ticket.url || typeof WebSocket === 'undefined') {
      this.onMode('unavailable');
      return;
    }
    const socket = new WebSocket(ticket.url);
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.retries = 0;
      this.followed = new Set();
      this.onMode('live');
      this.sync();
    });
    socket.addEventListener('message', (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      if (message && message.type === 'slots') this.onSlots(message);
    });
    socket.addEventListener('close', () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.onMode('down');
      this.later();
    });
  }

  later() {
    if (!this.wantOpen) return;
    this.retries += 1;
    this.timer = setTimeout(() => this.connect(), Math.min(30000, 1000 * 2 ** this.retries));
  }

  close() {
    this.wantOpen = false;
    clearTimeout(this.timer);
    if (this.socket) {
      const socket = this.socket;
      this.socket = null;
      socket.close();
    }
    this.followed = new Set();
    this.onMode('closed');
  }
}
