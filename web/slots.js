// The live slot picker: a day of a doctor's slots in the doctor's zone (and the patient's beside it), kept
// current over the slot-updates WebSocket, or by polling with If-None-Match when there is no WebSocket.

import { addDays, clockTime, localDate, longDate, patientZone, shortDate, slotLabel, zonesDiffer } from './shared/dates.js';
import { el } from './shared/dom.js';
import { t } from './shared/i18n.js';
import { LiveSlots } from './shared/live.js';

const POLL_MS = 3000;

export class SlotFeed {
  // Calls `onSlots(day)` with `{doctorId, date, timezone, slots}` whenever the followed day changes: live over the
  // shared slot feed, or polled with If-None-Match while there is no WebSocket.
  constructor(api, onSlots, onMode) {
    this.api = api;
    this.onSlots = onSlots;
    this.onMode = onMode;
    this.doctorId = null;
    this.date = null;
    this.etag = null;
    this.timer = null;
    this.live = new LiveSlots(api, {
      onSlots: (message) => {
        if (message.doctorId === this.doctorId && message.date === this.date) this.onSlots(message);
      },
      onMode: (mode) => {
        if (mode === 'live') {
          this.stopPolling();
          this.onMode('live');
        } else if (mode !== 'closed') {
          this.startPolling();
        }
      },
    });
  }

  async follow(doctorId, date) {
    this.doctorId = doctorId;
    this.date = date;
    this.etag = null;
    await this.load();
    this.live.follow([`${doctorId}|${date}`]);
    this.live.start();
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
    this.stopPolling();
    this.live.close();
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
    this.held = null; // the instant of the time held for this patient: shown as theirs, not as taken
    this.api = api;
    this.mode = 'day';
    this.weekRun = 0;
    this.feed = new SlotFeed(api, (day) => this.render(day), (mode) => this.showMode(mode));
    root.replaceChildren(
      el('div', { class: 'view-switch', role: 'group', 'aria-label': t('picker.showFor') },
        el('button', { type: 'button', class: 'as-day', 'aria-pressed': 'true', text: t('picker.oneDay') }),
        el('button', { type: 'button', class: 'as-week', 'aria-pressed': 'false', text: t('picker.sevenDays') })),
      el('div', { class: 'day-controls' },
        el('button', { type: 'button', class: 'prev', text: t('picker.previousDay') }),
        el('label', { for: `${this.id}-date`, text: t('picker.day') }),
        el('input', { type: 'date', id: `${this.id}-date`, class: 'date' }),
        el('button', { type: 'button', class: 'next', text: t('picker.nextDay') })),
      el('label', { class: 'check' }, el('input', { type: 'checkbox', class: 'only' }), ` ${t('picker.onlyAvailable')}`),
      el('p', { class: 'zone hint' }),
      el('p', { class: 'mode hint' }),
      el('p', { class: 'held-line hint', role: 'timer', hidden: true }),
      el('p', { class: 'empty message', hidden: true }),
      el('ul', { class: 'slots', 'aria-label': t('picker.times') }),
      el('div', { class: 'week', hidden: true }));
    this.dateInput = root.querySelector('.date');
    this.week = root.querySelector('.week');
    root.querySelector('.as-day').addEventListener('click', () => this.setMode('day'));
    root.querySelector('.as-week').addEventListener('click', () => this.setMode('week'));
    this.week.addEventListener('click', (event) => this.weekClick(event));
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
    this.week.querySelectorAll('button[data-week-start]').forEach((b) => {
      b.setAttribute('aria-pressed', String(b.dataset.weekStart === startsAt));
    });
  }

  // --- the next 7 days at a glance: each day's free times, any of them chosen with one click ---------------------
  setMode(mode) {
    this.mode = mode;
    this.root.querySelector('.as-day').setAttribute('aria-pressed', String(mode === 'day'));
    this.root.querySelector('.as-week').setAttribute('aria-pressed', String(mode === 'week'));
    for (const part of this.root.querySelectorAll('.day-controls, label.check, .empty, .slots')) {
      part.classList.toggle('away', mode !== 'day');
    }
    this.week.hidden = mode !== 'week';
    if (mode === 'week') this.showWeek(this.dateInput.value || localDate(this.doctor.timezone));
  }

  async showWeek(from) {
    const doctor = this.doctor;
    const first = this.dateInput.min && from < this.dateInput.min ? this.dateInput.min : from;
    const run = ++this.weekRun; // only the latest week draws
    const days = [...Array(7).keys()].map((i) => addDays(first, i));
    this.week.replaceChildren(el('p', { class: 'hint', role: 'status', text: t('picker.week.looking') }));
    const found = await Promise.all(days.map((day) => this.api.json('GET',
      `/api/appointments/availability/${doctor.id}/${day}?onlyAvailable=true`, { retries: 1 }).catch(() => null)));
    if (run !== this.weekRun || doctor !== this.doctor) return;
    this.weekFrom = first;
    const differ = zonesDiffer(doctor.timezone);
    const dayItem = (day, answer) => {
      const free = answer ? answer.slots.filter((x) => x.available !== false) : null;
      const shown = free ? free.slice(0, 8) : [];
      return el('li', { class: 'week-day', 'data-date': day },
        el('h3', { text: shortDate(day) }),
        free === null ? el('p', { class: 'hint', text: t('picker.week.notLoaded') })
          : free.length ? el('ul', { class: 'week-times', 'aria-label': t('picker.week.freeOn', { day: longDate(day) }) },
            ...shown.map((slot) => {
              const label = slotLabel(slot, free);
              const mine = differ ? t('picker.yours', { time: clockTime(slot.startsAt, patientZone()) }) : '';
              return el('li', {}, el('button', { type: 'button', 'data-week-start': slot.startsAt, 'data-date': day, 'data-label': label,
                'aria-pressed': String(slot.startsAt === this.chosen),
                'aria-label': t('picker.week.timeOn', { time: `${label}${mine}`, day: longDate(day) }), text: `${label}${mine}` }));
            }))
            : el('p', { class: 'hint', text: t('picker.week.noFree') }),
        free && free.length > shown.length
          ? el('button', { type: 'button', class: 'link', 'data-open-day': day, text: t('picker.week.all', { count: free.length }) })
          : null);
    };
    this.weekSlots = new Map(found.flatMap((answer) => (answer ? answer.slots : []).map((x) => [x.startsAt, x])));
    this.week.replaceChildren(
      el('div', { class: 'day-controls' },
        el('button', { type: 'button', 'data-shift': '-7', text: t('picker.week.earlier') }),
        el('p', { class: 'week-range', text: t('picker.week.range', { from: longDate(days[0]), to: longDate(days[6]) }) }),
        el('button', { type: 'button', 'data-shift': '7', text: t('picker.week.later') })),
      el('ul', { class: 'week-days', 'aria-label': t('picker.week.list') },
        ...days.map((day, i) => dayItem(day, found[i]))));
  }

  weekClick(event) {
    const button = event.target.closest('button');
    if (!button) return;
    if (button.dataset.shift) {
      this.showWeek(addDays(this.weekFrom, Number(button.dataset.shift)));
    } else if (button.dataset.openDay) {
      this.dateInput.value = button.dataset.openDay;
      this.setMode('day');
      this.show(button.dataset.openDay);
    } else if (button.dataset.weekStart) {
      const slot = this.weekSlots.get(button.dataset.weekStart);
      const date = button.dataset.date;
      this.week.querySelectorAll('button[data-week-start]').forEach((b) => {
        b.setAttribute('aria-pressed', String(b === button));
      });
      // the day behind the choice is followed live, so a time taken meanwhile is known (and the next free offered)
      if (this.dateInput.value !== date) {
        this.dateInput.value = date;
        this.list.replaceChildren();
        this.feed.follow(this.doctor.id, date).catch(() => {});
      }
      this.chosen = slot.startsAt;
      this.onPick({ ...slot, label: button.dataset.label, date, doctorId: this.doctor.id,
        timezone: this.doctor.timezone });
    }
  }

  setHeld(startsAt, words = '') {
    // the time held for the patient (null: none) and its countdown line; role=timer is never read out by itself
    this.held = startsAt;
    const line = this.root.querySelector('.held-line');
    line.hidden = !startsAt || !words;
    if (line.textContent !== words) line.textContent = words;
    if (this.day) this.render(this.day);
  }

  refresh() {
    // the day read again in full (not a conditional GET, whose 304 may still count a released hold)
    this.feed.etag = null;
    return this.feed.doctorId ? this.feed.load() : Promise.resolve();
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
      ? t('picker.zones', { zone: doctor.timezone, yours: zone })
      : t('picker.zone', { zone: doctor.timezone });
    await this.show(date);
  }

  async show(date) {
    if (this.mode === 'week') this.setMode('day');
    if (!date || (this.dateInput.min && date < this.dateInput.min)) return;
    this.dateInput.value = date;
    this.chosen = null;
    this.list.replaceChildren();
    // no day is drawn until this one's times come: marking the patient's own visits or a hold must not draw the
    // day shown before under the new date (its times, clicked, would be held and booked on the wrong day)
    this.day = null;
    const doctorId = this.doctor.id;
    this.ownVisits(doctorId, date).then((found) => {
      if (this.doctor.id === doctorId && this.dateInput.value === date) this.markOwn(found);
    }).catch(() => {});
    await this.feed.follow(doctorId, date);
  }

  showMode(mode) {
    this.root.querySelector('.mode').textContent = mode === 'live' ? t('picker.live') : t('picker.polled');
    this.root.dataset.mode = mode;
  }

  render(day) {
    const before = this.day && this.day.date === day.date
      ? new Map(this.day.slots.map((s) => [s.startsAt, s.available])) : null;
    this.day = day;
    const only = this.root.querySelector('.only').checked;
    const own = (s) => this.own.has(new Date(s.startsAt).toISOString());
    const shown = day.slots.filter((s) => !only || s.available || s.startsAt === this.chosen || s.startsAt === this.held
      || own(s));
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
      const mine = differ ? t('picker.yours', { time: clockTime(slot.startsAt, patientZone()) }) : '';
      const isOwn = own(slot);
      const isHeld = !isOwn && slot.startsAt === this.held;
      const state = isOwn ? t('picker.ownVisit') : isHeld ? t('picker.heldForYou') : slot.available ? '' : t('picker.taken');
      const label = `${slotLabel(slot, day.slots)}${mine}${state}`;
      if (button.textContent !== label) button.textContent = label;
      button.setAttribute('aria-disabled', String(isOwn || (!slot.available && !isHeld)));
      button.classList.toggle('taken', !isOwn && !isHeld && !slot.available);
      button.classList.toggle('own', isOwn);
      button.classList.toggle('held', isHeld);
      if (before && before.get(slot.startsAt) === true && !slot.available && !isOwn && !isHeld) {
        this.announce(t('picker.gone', { time: slotLabel(slot, day.slots) }));
      }
    }
    const empty = this.root.querySelector('.empty');
    empty.hidden = shown.some((s) => s.available);
    empty.textContent = t('picker.none', { day: longDate(day.date) });
  }

  nextFree(count = 3) {
    return (this.day ? this.day.slots : []).filter((s) => s.available).slice(0, count)
      .map((s) => ({ ...s, label: slotLabel(s, this.day.slots) }));
  }

  close() {
    this.feed.close();
  }
}
