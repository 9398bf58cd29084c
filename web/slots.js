// The live slot picker: a day of a doctor's slots in the doctor's zone (and the patient's beside it), kept
// current over the slot-updates WebSocket, or by polling with If-None-Match when there is no WebSocket.

export const patientZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

export function localDate(zone, instant = new Date()) {
  // en-CA formats as YYYY-MM-DD
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' })
    .format(instant);
}

export function addDays(isoDate, days) {
  const d = new Date(`${isoDate}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export function weekday(isoDate) {
  return ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'][
    new Date(`${isoDate}T12:00:00Z`).getUTCDay()
  ];
}

export function longDate(isoDate) {
  return new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric',
    timeZone: 'UTC' }).format(new Date(`${isoDate}T12:00:00Z`));
}

export function clockTime(instant, zone) {
  return new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', timeZone: zone })
    .format(new Date(instant));
}

export function zonesDiffer(zone) {
  return zone !== patientZone();
}

export function slotLabel(slot, slots) {
  // A fall-back night offers the repeated local times twice (two instants): say which pass each one is.
  const same = slots.filter((s) => s.time === slot.time).sort((x, y) => Date.parse(x.startsAt) - Date.parse(y.startsAt));
  if (same.length < 2) return slot.time;
  return same[0].startsAt === slot.startsAt ? `${slot.time} (first)` : `${slot.time} (second, after the clocks go back)`;
}

const POLL_MS = 3000;

export class SlotFeed {
  // Calls `onSlots(day)` with `{doctorId, date, timezone, slots}` whenever the followed day changes.
  constructor(api, onSlots, onMode) {
    this.api = api;
    this.onSlots = onSlots;
    this.onMode = onMode;
    this.doctorId = null;
    this.date = null;
    this.etag = null;
    this.socket = null;
    this.timer = null;
    this.closed = false;
  }

  async follow(doctorId, date) {
    const previous = this.doctorId && { doctorId: this.doctorId, date: this.date };
    this.doctorId = doctorId;
    this.date = date;
    this.etag = null;
    await this.load();
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      if (previous) this.socket.send(JSON.stringify({ action: 'unsubscribe', ...previous }));
      this.socket.send(JSON.stringify({ action: 'subscribe', doctorId, date }));
    } else if (!this.socket) {
      this.connect();
    }
  }

  async load() {
    const { doctorId, date } = this;
    const headers = this.etag ? { 'If-None-Match': this.etag } : {};
    const response = await this.api.request('GET', `/api/appointments/availability/${doctorId}/${date}`, {
      headers, retries: 1,
    });
    if (response.status === 304 || doctorId !== this.doctorId || date !== this.date) return;
    if (!response.ok) return;
    this.etag = response.headers.get('ETag');
    this.onSlots(await response.json());
  }

  async connect() {
    try {
      const ticket = await this.api.json('POST', '/api/realtime/ticket');
      if (!ticket.url || typeof WebSocket === 'undefined') throw new Error('no WebSocket here');
      const socket = new WebSocket(ticket.url);
      this.socket = socket;
      socket.addEventListener('open', () => {
        this.stopPolling();
        this.onMode('live');
        if (this.doctorId) socket.send(JSON.stringify({ action: 'subscribe', doctorId: this.doctorId, date: this.date }));
      });
      socket.addEventListener('message', (event) => {
        let message;
        try {
          message = JSON.parse(event.data);
        } catch (err) {
          return;
        }
        if (message.type === 'slots' && message.doctorId === this.doctorId && message.date === this.date) {
          this.onSlots(message);
        }
      });
      socket.addEventListener('close', () => {
        if (this.socket === socket) this.socket = null;
        if (this.closed) return;
        this.startPolling();
        setTimeout(() => { if (!this.closed && !this.socket) this.connect(); }, 15000);
      });
    } catch (err) {
      this.startPolling();
    }
  }

  startPolling() {
    this.onMode('polling');
    if (this.timer) return;
    this.timer = setInterval(() => { if (this.doctorId) this.load().catch(() => {}); }, POLL_MS);
  }

  stopPolling() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  close() {
    this.closed = true;
    this.stopPolling();
    if (this.socket) this.socket.close();
    this.socket = null;
  }
}

let pickers = 0;

export class SlotPicker {
  // Renders into `root`: day controls, the zone note, the live mode and the slots; `onPick(slot)` on a choice.
  constructor(root, api, { onPick, announce, ownVisits = async () => [] }) {
    pickers += 1;
    this.id = `picker${pickers}`;
    this.root = root;
    this.onPick = onPick;
    this.announce = announce;
    this.ownVisits = ownVisits;
    this.own = new Set();
    this.doctor = null;
    this.day = null;
    this.chosen = null;
    this.feed = new SlotFeed(api, (day) => this.render(day), (mode) => this.showMode(mode));
    root.innerHTML = `
      <div class="day-controls">
        <button type="button" class="prev">Previous day</button>
        <label for="${this.id}-date">Day</label>
        <input type="date" id="${this.id}-date" class="date">
        <button type="button" class="next">Next day</button>
      </div>
      <label class="check"><input type="checkbox" class="only"> Only available times</label>
      <p class="zone hint"></p>
      <p class="mode hint"></p>
      <p class="empty message" hidden></p>
      <ul class="slots" aria-label="Times"></ul>`;
    this.dateInput = root.querySelector('.date');
    this.list = root.querySelector('.slots');
    root.querySelector('.prev').addEventListener('click', () => this.show(addDays(this.dateInput.value, -1)));
    root.querySelector('.next').addEventListener('click', () => this.show(addDays(this.dateInput.value, 1)));
    this.dateInput.addEventListener('change', () => { if (this.dateInput.value) this.show(this.dateInput.value); });
    root.querySelector('.only').addEventListener('change', () => this.day && this.render(this.day));
    this.list.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-starts-at]');
      if (!button || button.getAttribute('aria-disabled') === 'true') return;
      const slot = this.day.slots.find((s) => s.startsAt === button.dataset.startsAt);
      if (!slot) return;
      this.choose(slot.startsAt);
      this.onPick({ ...slot, label: slotLabel(slot, this.day.slots), date: this.day.date, doctorId: this.day.doctorId,
        timezone: this.doctor.timezone });
    });
  }

  choose(startsAt) {
    // slots are keyed by their instant: in a fall-back hour two of them share the same local time
    this.chosen = startsAt;
    this.list.querySelectorAll('button[data-starts-at]').forEach((b) => {
      b.setAttribute('aria-pressed', String(b.dataset.startsAt === startsAt));
    });
  }

  markOwn(startsAts) {
    // the patient's own visits with this doctor: shown as "your visit", never offered
    for (const at of startsAts) this.own.add(new Date(at).toISOString());
    if (this.day) this.render(this.day);
  }

  async open(doctor, date, own = []) {
    this.doctor = doctor;
    this.chosen = null;
    this.own = new Set(own.map((at) => new Date(at).toISOString()));
    this.dateInput.min = localDate(doctor.timezone);
    const zone = patientZone();
    this.root.querySelector('.zone').textContent = zonesDiffer(doctor.timezone)
      ? `Times are in the doctor's time zone (${doctor.timezone}); yours (${zone}) are shown beside them.`
      : `Times are in ${doctor.timezone}.`;
    await this.show(date);
  }

  async show(date) {
    if (!date || (this.dateInput.min && date < this.dateInput.min)) return;
    this.dateInput.value = date;
    this.chosen = null;
    this.list.replaceChildren();
    const doctorId = this.doctor.id;
    this.ownVisits(doctorId, date).then((found) => {
      if (this.doctor.id === doctorId && this.dateInput.value === date) this.markOwn(found);
    }).catch(() => {});
    await this.feed.follow(doctorId, date);
  }

  showMode(mode) {
    this.root.querySelector('.mode').textContent = mode === 'live'
      ? 'Times update live.'
      : 'Times are checked again every few seconds.';
    this.root.dataset.mode = mode;
  }

  render(day) {
    const before = this.day && this.day.date === day.date
      ? new Map(this.day.slots.map((s) => [s.startsAt, s.available])) : null;
    this.day = day;
    const only = this.root.querySelector('.only').checked;
    const own = (s) => this.own.has(new Date(s.startsAt).toISOString());
    const shown = day.slots.filter((s) => !only || s.available || s.startsAt === this.chosen || own(s));
    const existing = new Map([...this.list.querySelectorAll('button[data-starts-at]')]
      .map((b) => [b.dataset.startsAt, b]));
    const differ = zonesDiffer(this.doctor.timezone); // WebSocket updates do not repeat the zone
    const focused = document.activeElement;
    const wanted = new Set(shown.map((s) => s.startsAt));
    for (const [startsAt, button] of existing) {
      if (!wanted.has(startsAt)) {
        if (button === focused) this.list.closest('section')?.querySelector('h2')?.focus();
        button.parentElement.remove();
      }
    }
    let previous = null;
    for (const slot of shown) {
      let button = existing.get(slot.startsAt);
      if (!button || !button.isConnected) {
        const item = document.createElement('li');
        button = document.createElement('button');
        button.type = 'button';
        button.dataset.time = slot.time;
        button.dataset.startsAt = slot.startsAt;
        button.setAttribute('aria-pressed', String(slot.startsAt === this.chosen));
        item.append(button);
        if (previous) previous.parentElement.after(item); else this.list.prepend(item);
      }
      previous = button;
      const mine = differ ? ` (${clockTime(slot.startsAt, patientZone())} yours)` : '';
      const isOwn = own(slot);
      const state = isOwn ? ' your visit' : slot.available ? '' : ' taken';
      const label = `${slotLabel(slot, day.slots)}${mine}${state}`;
      if (button.textContent !== label) button.textContent = label;
      button.setAttribute('aria-disabled', String(isOwn || !slot.available));
      button.classList.toggle('taken', !isOwn && !slot.available);
      button.classList.toggle('own', isOwn);
      if (before && before.get(slot.startsAt) === true && !slot.available && !isOwn) {
        this.announce(`${slotLabel(slot, day.slots)} is no longer available.`);
      }
    }
    const empty = this.root.querySelector('.empty');
    empty.hidden = shown.some((s) => s.available);
    empty.textContent = `No free times on ${longDate(day.date)}. Try the next day.`;
  }

  nextFree(count = 3) {
    return (this.day ? this.day.slots : []).filter((s) => s.available).slice(0, count)
      .map((s) => ({ ...s, label: slotLabel(s, this.day.slots) }));
  }

  close() {
    this.feed.close();
  }
}
