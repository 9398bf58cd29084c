// The patient's waitlists: join a doctor's waitlist from its day view when no time suits, see the entries and
// leave one, and answer an offer (its time, how long it is kept, Accept / Decline), also from the link in the
// offer's message (`/?waitlist=<id>`), which is kept across sign-in like a room link.
import { ApiError } from './shared/api.js';
import { WEEKDAYS, addDays, clockTime, localDate, longDate, patientZone, zonesDiffer } from './shared/dates.js';
import { el } from './shared/dom.js';
import { t } from './shared/i18n.js';
import { ACTIVE } from './shared/status.js';

const $ = (selector, root = document) => root.querySelector(selector);
const LINK_KEY = 'clinic.waitlist';
const MAX_WINDOW_DAYS = 92;
const PARTS = {
  morning: { start: '06:00', end: '12:00' },
  afternoon: { start: '12:00', end: '17:00' },
  evening: { start: '17:00', end: '22:00' },
};
const STATUSES = ['waiting', 'offered', 'booked', 'expired', 'left'];
// i18n-keys: waitlist.status.waiting waitlist.status.offered waitlist.status.booked waitlist.status.expired
// i18n-keys: waitlist.status.left waitlist.day.monday waitlist.day.tuesday waitlist.day.wednesday
// i18n-keys: waitlist.day.thursday waitlist.day.friday waitlist.day.saturday waitlist.day.sunday
// i18n-keys: waitlist.part.morning waitlist.part.afternoon waitlist.part.evening
// i18n-keys: waitlist.ended.offered waitlist.ended.booked waitlist.ended.waiting waitlist.ended.expired waitlist.ended.left

export function rememberWaitlistLink() {
  // `/?waitlist=<id>`: kept in this tab until the patient is signed in, then the offer opens
  const id = new URLSearchParams(location.search).get('waitlist');
  if (!id || !/^[A-Za-z0-9_-]{1,100}$/.test(id)) return;
  sessionStorage.setItem(LINK_KEY, id);
  history.replaceState(null, '', '/');
}

const countdown = (ms) => {
  const left = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`;
};

export class Waitlist {
  // `plain(error)`: the app's words for an error; `confirmation(appointment)`: the app's confirmation nodes;
  // `showMine()`: opens "My appointments", whose panel holds "My waitlist".
  constructor(api, { announce, plain, confirmation, showMine, claims }) {
    Object.assign(this, { api, announce, plain, confirmation, showMine, claims });
    this.doctors = new Map();
    this.timer = null;
    this.loads = 0;
    this.joinRoot = el('div', { id: 'waitlist-join', class: 'waitlist-join' });
    $('#book-picker').after(this.joinRoot);
    this.notice = el('div', { id: 'waitlist-notice', class: 'message', tabindex: '-1' });
    this.status = el('p', { id: 'waitlist-status', class: 'message', role: 'status' });
    this.list = el('ul', { id: 'waitlist', class: 'cards', 'aria-label': t('waitlist.list') });
    this.section = el('section', { id: 'waitlist-section', 'aria-labelledby': 'waitlist-h' },
      el('h2', { id: 'waitlist-h', tabindex: '-1', text: t('waitlist.heading') }), this.notice, this.status,
      this.list);
    $('#mine-status-line').parentElement.append(this.section);
  }

  words(error, doing = 'join') {
    if (error instanceof ApiError && error.code === 'WAITLIST_LIMIT_REACHED') {
      return (error.details && error.details.reason) === 'one_per_doctor' ? t('waitlist.error.onePerDoctor')
        : t('waitlist.error.tooMany', { count: (error.details && error.details.limit) || 3 });
    }
    if (error instanceof ApiError && error.code === 'OUTSIDE_BOOKING_WINDOW') return t('waitlist.error.horizon');
    if (error instanceof ApiError && error.code === 'INVALID_STATE' && doing === 'answer') return t('waitlist.error.ended');
    if (error instanceof ApiError && error.code === 'VALIDATION_ERROR' && doing === 'join') return t('waitlist.error.window');
    return this.plain(error);
  }

  async doctor(id) {
    if (!this.doctors.has(id)) {
      const { doctors } = await this.api.json('GET', '/api/doctors', { retries: 1 });
      for (const d of doctors) this.doctors.set(d.id, d);
      if (!this.doctors.has(id)) this.doctors.set(id, { id, name: id, timezone: patientZone() });  // not listed
    }
    return this.doctors.get(id) || { id, name: id, timezone: patientZone() };
  }

  // --- join --------------------------------------------------------------------------------------------------
  showJoin(doctor) {
    // under the doctor's day view: a way onto its waitlist when no time suits
    this.doctors.set(doctor.id, doctor);
    const open = el('button', { type: 'button', id: 'waitlist-open', 'aria-expanded': 'false',
      text: t('waitlist.join'), onclick: () => this.openForm(doctor, open) });
    this.joinRoot.replaceChildren(el('p', { class: 'hint', text: t('waitlist.offer', { name: doctor.name }) }), open);
  }

  async openForm(doctor, opener) {
    if ($('#waitlist-form', this.joinRoot)) {
      $('#waitlist-form', this.joinRoot).remove();
      opener.setAttribute('aria-expanded', 'false');
      return;
    }
    opener.setAttribute('aria-expanded', 'true');
    const availability = doctor.availability || {};
    const today = localDate(doctor.timezone);
    const horizon = addDays(today, availability.bookingHorizonDays || 180);
    const lengths = [...new Set([availability.appointmentDuration || 30, ...(availability.durations || [])])];
    const claims = this.claims() || {};
    const channels = [['email', claims.email_verified === true || claims.email_verified === 'true'],
      ['sms', claims.phone_number_verified === true || claims.phone_number_verified === 'true']]
      .filter(([, verified]) => verified).map(([channel]) => channel);
    const check = (name, value, label, checked = false) => el('label', { class: 'check' },
      el('input', { type: 'checkbox', name, value, checked }), ' ', el('span', { text: label }));
    const error = el('p', { id: 'waitlist-error', class: 'error', role: 'alert', tabindex: '-1' });
    const moveEarlier = el('select', { id: 'wl-move', name: 'moveEarlier' },
      el('option', { value: '', text: t('waitlist.move.none') }));
    const form = el('form', { id: 'waitlist-form', class: 'grid', novalidate: true,
      'aria-label': t('waitlist.form', { name: doctor.name }) },
      el('div', { class: 'field' },
        el('label', { for: 'wl-from', text: t('waitlist.from') }),
        el('input', { id: 'wl-from', name: 'from', type: 'date', min: today, max: horizon, value: addDays(today, 1),
          required: true })),
      el('div', { class: 'field' },
        el('label', { for: 'wl-to', text: t('waitlist.to') }),
        el('input', { id: 'wl-to', name: 'to', type: 'date', min: today, max: horizon,
          value: addDays(today, 28) > horizon ? horizon : addDays(today, 28), required: true, 'aria-describedby': 'wl-to-hint' }),
        el('p', { id: 'wl-to-hint', class: 'hint', text: t('waitlist.window.hint', { day: longDate(horizon) }) })),
      el('fieldset', { class: 'field' },
        el('legend', { text: t('waitlist.days') }),
        el('div', { class: 'row' }, ...WEEKDAYS.map((d) => check('wl-day', d, t(`waitlist.day.${d}`)))),
        el('p', { class: 'hint', text: t('waitlist.days.hint') })),
      el('fieldset', { class: 'field' },
        el('legend', { text: t('waitlist.times') }),
        el('div', { class: 'row' }, ...Object.keys(PARTS).map((p) => check('wl-part', p, t(`waitlist.part.${p}`)))),
        el('p', { class: 'hint', text: t('waitlist.times.hint') })),
      el('fieldset', { class: 'field' },
        el('legend', { text: t('book.type') }),
        el('label', { class: 'check' }, el('input', { type: 'radio', name: 'wl-type', value: 'in-person', checked: true }),
          ' ', el('span', { text: t('visit.inPerson') })),
        doctor.telehealth ? el('label', { class: 'check' }, el('input', { type: 'radio', name: 'wl-type',
          value: 'telehealth' }), ' ', el('span', { text: t('visit.video') })) : null),
      el('div', { class: 'field' },
        el('label', { for: 'wl-length', text: t('book.length') }),
        el('select', { id: 'wl-length', name: 'duration' },
          ...lengths.map((m) => el('option', { value: String(m), text: t('book.minutes', { count: m }) })))),
      el('fieldset', { class: 'field' },
        el('legend', { text: t('waitlist.notify') }),
        channels.length ? el('div', { class: 'row' }, ...channels.map((c, i) => check('wl-notify', c, t(`channel.${c}`), i === 0)))
          : el('p', { class: 'error', text: t('waitlist.notify.none') }),
        el('p', { class: 'hint', text: t('waitlist.notify.hint') })),
      el('div', { class: 'field' },
        el('label', { for: 'wl-move', text: t('waitlist.move') }), moveEarlier,
        el('p', { class: 'hint', text: t('waitlist.move.hint') })),
      error,
      el('div', { class: 'actions' }, el('button', { type: 'submit', id: 'waitlist-submit', text: t('waitlist.join.button') })));
    form.addEventListener('submit', (event) => { event.preventDefault(); this.join(doctor, form, error); });
    this.joinRoot.append(form);
    $('#wl-from', form).focus();
    this.ownVisits(doctor).then((visits) => {
      moveEarlier.append(...visits.map((a) => el('option', { value: a.id,
        text: t('waitlist.move.visit', { day: longDate(a.date), time: a.time }) })));
    }).catch(() => {});
  }

  async ownVisits(doctor) {
    // the patient's visits with this doctor up to its horizon, read 92 days at a time (the API's widest window)
    const today = localDate(patientZone());
    const horizon = addDays(today, (doctor.availability && doctor.availability.bookingHorizonDays) || 180);
    const found = [];
    for (let from = today; from <= horizon; from = addDays(from, MAX_WINDOW_DAYS)) {
      const { appointments } = await this.api.json('GET',
        `/api/appointments/patient/${this.claims().sub}?from=${from}&to=${addDays(from, MAX_WINDOW_DAYS - 1)}`,
        { retries: 1 });
      found.push(...appointments.filter((a) => a.doctorId === doctor.id && ACTIVE.has(a.status)));
    }
    return found;
  }

  async join(doctor, form, error) {
    const picked = (name) => [...form.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);
    const from = $('#wl-from', form).value;
    const to = $('#wl-to', form).value;
    error.textContent = '';
    const notify = Object.fromEntries(picked('wl-notify').map((c) => [c, true]));
    let problem = null;
    if (!from || !to || to < from) problem = t('waitlist.error.window');
    else if ((Date.parse(to) - Date.parse(from)) / 86400000 >= MAX_WINDOW_DAYS) problem = t('waitlist.error.tooLong', { count: MAX_WINDOW_DAYS });
    else if (!Object.keys(notify).length) problem = t('waitlist.error.notify');
    if (problem) {
      error.textContent = problem;
      error.focus();
      return;
    }
    const body = { doctorId: doctor.id, from, to, type: picked('wl-type')[0] || 'in-person',
      duration: Number($('#wl-length', form).value), notify };
    const days = picked('wl-day');
    if (days.length) body.days = days;
    const parts = picked('wl-part');
    if (parts.length) body.times = parts.map((p) => PARTS[p]);
    if ($('#wl-move', form).value) body.moveEarlier = $('#wl-move', form).value;
    const button = $('#waitlist-submit', form);
    button.disabled = true;
    try {
      const entry = await this.api.json('POST', '/api/waitlist', { body });
      const done = el('div', { id: 'waitlist-joined', class: 'message', role: 'status', tabindex: '-1' },
        el('p', { text: t('waitlist.joined', { name: doctor.name, from: longDate(entry.from), to: longDate(entry.to) }) }),
        el('button', { type: 'button', text: t('waitlist.see'), onclick: () => this.showMine() }));
      this.joinRoot.replaceChildren(done);
      done.focus();
    } catch (err) {
      error.textContent = this.words(err);
      error.focus();
    } finally {
      button.disabled = false;
    }
  }

  // --- my waitlist -------------------------------------------------------------------------------------------
  async load() {
    this.loads += 1;
    const mine = this.loads;
    this.list.setAttribute('aria-busy', 'true');
    try {
      const { entries } = await this.api.json('GET', '/api/waitlist', { retries: 1 });
      for (const e of entries) await this.doctor(e.doctorId);
      if (mine !== this.loads) return;
      const shown = entries.filter((e) => e.status === 'waiting' || e.status === 'offered' || e.status === 'booked');
      this.list.replaceChildren(...shown.map((e) => this.card(e)));
      this.status.textContent = shown.length ? '' : t('waitlist.none');
      this.tick();
    } catch (err) {
      if (mine === this.loads) this.status.textContent = this.plain(err);
    } finally {
      if (mine === this.loads) this.list.setAttribute('aria-busy', 'false');
    }
  }

  card(entry) {
    const doctor = this.doctors.get(entry.doctorId) || { name: entry.doctorId, timezone: patientZone() };
    const details = [
      entry.days.length ? entry.days.map((d) => t(`waitlist.day.${d}`)).join(', ') : t('waitlist.anyDay'),
      entry.times.length ? entry.times.map((r) => `${r.start}–${r.end}`).join(', ') : t('waitlist.anyTime'),
      t('book.minutes', { count: entry.duration }),
    ].join(' · ');
    const card = el('li', { class: 'card', 'data-entry': entry.id, 'data-status': entry.status },
      el('h3', { text: t('waitlist.entry', { name: doctor.name }) }),
      el('p', { text: t('waitlist.window', { from: longDate(entry.from), to: longDate(entry.to) }) }),
      el('p', { class: 'hint', text: details }),
      el('p', {}, t('mine.statusLabel'), el('span', { class: `status status-${entry.status}`,
        text: STATUSES.includes(entry.status) ? t(`waitlist.status.${entry.status}`) : entry.status })));
    if (entry.status === 'offered' && entry.offer) card.append(this.offerBlock(entry, doctor, card));
    const extra = el('div', { class: 'card-extra' });
    if (entry.status === 'waiting' || entry.status === 'offered') {
      card.append(el('div', { class: 'actions' }, el('button', { type: 'button', class: 'danger',
        text: t('waitlist.leave'), 'aria-label': t('waitlist.leaveLabel', { name: doctor.name }),
        onclick: () => this.confirmLeave(entry, doctor, card, extra) })));
    }
    card.append(extra);
    return card;
  }

  offerBlock(entry, doctor, card) {
    const { offer } = entry;
    const zone = doctor.timezone;
    const yours = zonesDiffer(zone) ? t('time.yours', { time: clockTime(offer.startsAt, patientZone()) }) : '';
    const left = el('p', { class: 'hint', role: 'timer', 'data-expires': offer.expiresAt });
    const error = el('p', { class: 'error', role: 'alert' });
    return el('div', { class: 'offer', role: 'group', 'aria-labelledby': `offer-${entry.id}` },
      el('p', { id: `offer-${entry.id}`, class: 'offer-time',
        text: t('waitlist.offered', { day: longDate(offer.date), time: offer.time, yours, zone }) }),
      left, error,
      el('div', { class: 'actions' },
        el('button', { type: 'button', text: t('waitlist.accept'),
          onclick: (event) => this.answer(entry, card, 'accept', error, event.target) }),
        el('button', { type: 'button', text: t('waitlist.decline'),
          onclick: (event) => this.answer(entry, card, 'decline', error, event.target) })));
  }

  tick() {
    // the open offers' countdowns; an offer whose hold ran out reads as ended and the list is read again
    if (this.timer) clearInterval(this.timer);
    const update = () => {
      const timers = [...this.section.querySelectorAll('[data-expires]')];
      if (!timers.length) {
        clearInterval(this.timer);
        this.timer = null;
        return;
      }
      for (const node of timers) {
        const ms = Date.parse(node.dataset.expires) - Date.now();
        if (ms > 0) node.textContent = t('waitlist.keptFor', { left: countdown(ms) });
        else {
          node.textContent = t('waitlist.error.ended');
          delete node.dataset.expires;
          for (const b of node.parentElement.querySelectorAll('button')) b.disabled = true;
          setTimeout(() => this.load(), 1500);
        }
      }
    };
    update();
    this.timer = setInterval(update, 1000);
  }

  async answer(entry, card, what, error, button) {
    button.disabled = true;
    error.textContent = '';
    try {
      const made = await this.api.json('POST', `/api/waitlist/${entry.id}/${what}`, { body: {} });
      if (what === 'accept') {
        const done = el('div', { id: 'waitlist-booked', class: 'message', role: 'status', tabindex: '-1' },
          ...this.confirmation(made));
        this.notice.replaceChildren(done);
        done.focus();
        await this.load();
      } else {
        this.announce(t('waitlist.declined'));
        await this.load();
        this.section.querySelector('#waitlist-h').focus();
      }
    } catch (err) {
      error.textContent = this.words(err, 'answer');
      button.disabled = false;
      error.tabIndex = -1;
      error.focus();
    }
  }

  confirmLeave(entry, doctor, card, extra) {
    extra.replaceChildren(
      el('p', { text: t('waitlist.leave.question', { name: doctor.name }) }),
      el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'danger solid', text: t('waitlist.leave.yes'),
          onclick: () => this.leave(entry, doctor, card, extra) }),
        el('button', { type: 'button', text: t('waitlist.leave.keep'), onclick: () => extra.replaceChildren() })));
    extra.querySelector('button').focus();
  }

  async leave(entry, doctor, card, extra) {
    try {
      await this.api.json('DELETE', `/api/waitlist/${entry.id}`);
      card.remove();
      this.announce(t('waitlist.left', { name: doctor.name }));
      if (!this.list.childElementCount) this.status.textContent = t('waitlist.none');
      this.section.querySelector('#waitlist-h').focus();
    } catch (err) {
      extra.replaceChildren(el('p', { class: 'error', role: 'alert', text: this.plain(err) }));
    }
  }

  // --- the offer's link --------------------------------------------------------------------------------------
  async openLink() {
    const id = sessionStorage.getItem(LINK_KEY);
    sessionStorage.removeItem(LINK_KEY);
    if (!id) return;
    this.showMine();
    this.notice.replaceChildren();
    try {
      const entry = await this.api.json('GET', `/api/waitlist/${encodeURIComponent(id)}`, { retries: 1 });
      const doctor = await this.doctor(entry.doctorId);
      if (entry.status === 'offered' && entry.offer) {
        await this.load();
        const card = this.list.querySelector(`[data-entry="${entry.id}"]`);
        if (card) {
          this.notice.replaceChildren(el('p', { text: t('waitlist.link.offered', { name: doctor.name }) }));
          card.tabIndex = -1;
          card.classList.add('linked');
          card.focus();
          return;
        }
      }
      this.notice.replaceChildren(el('p', { id: 'waitlist-ended', role: 'alert',
        text: t(`waitlist.ended.${entry.status}`, { name: doctor.name }) }));
    } catch (err) {
      this.notice.replaceChildren(el('p', { id: 'waitlist-ended', role: 'alert',
        text: err instanceof ApiError && err.status === 404 ? t('waitlist.link.notFound') : this.plain(err) }));
    }
    this.notice.focus();
  }
}
