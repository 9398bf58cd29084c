// The patient web app: sign in, then Book / My appointments / Reminders, and the telehealth room.
import { ApiError, claimsOf, createApi, newKey, tokenStore } from './shared/api.js';
import { addDays, clockTime, localDate, longDate, patientZone, setDateLocale, setPassWords, weekday, zonesDiffer }
  from './shared/dates.js';
import { el } from './shared/dom.js';
import { LANGUAGES, chosenLanguage, language, load, remember, t, translatePage } from './shared/i18n.js';
import { ACTIVE } from './shared/status.js';
import { SlotPicker } from './slots.js';
import { adviceFor, joinOpensAt, problemOf, requirementsCheck } from './telehealth.js';
import { Waitlist, rememberWaitlistLink } from './waitlist.js';

const $ = (selector, root = document) => root.querySelector(selector);
const session = tokenStore('clinic.token');
const state = { config: null, token: null, claims: null, doctors: [], doctor: null, slot: null, bookingKey: null,
  bookingBody: null, appointments: [], reminderTimer: null, roomTimer: null };
const api = createApi(() => (state.config && state.config.apiBase) || '', () => state.token, () => {
  // the token has expired or was revoked: sign in again rather than show errors
  session.clear();
  state.token = null;
  showSignIn();
  $('#signin-message').textContent = t('error.UNAUTHENTICATED');
});

const statusWords = (status) => t(`status.${status}`);
let waitlist = null;  // web/waitlist.js: join, My waitlist, offers and their links

function announce(text) {
  const region = $('#announce');
  region.textContent = '';
  setTimeout(() => { region.textContent = text; }, 50);
}

// What the clinic's error codes mean to a patient: in the second person, saying what to do next (`error.<CODE>` in
// the catalogue). The server's own messages are written for every client (staff included) and are not shown here.
const ERROR_CODES = ['NETWORK', 'SLOT_UNAVAILABLE', 'AMBIGUOUS_LOCAL_TIME', 'DAILY_LIMIT_REACHED',
  'OUTSIDE_BOOKING_WINDOW', 'OUTSIDE_WORKING_HOURS', 'TOO_LATE_TO_CHANGE', 'TELEHEALTH_NOT_OFFERED',
  'PUSH_NOT_CONFIGURED', 'INVALID_STATE', 'CONFLICT', 'NOT_FOUND', 'FORBIDDEN', 'UNAUTHENTICATED', 'RATE_LIMITED',
  'SERVICE_UNAVAILABLE', 'VALIDATION_ERROR'];
// i18n-keys: error.NETWORK error.SLOT_UNAVAILABLE error.AMBIGUOUS_LOCAL_TIME error.DAILY_LIMIT_REACHED
// i18n-keys: error.OUTSIDE_BOOKING_WINDOW error.OUTSIDE_WORKING_HOURS error.TOO_LATE_TO_CHANGE
// i18n-keys: error.TELEHEALTH_NOT_OFFERED error.PUSH_NOT_CONFIGURED error.INVALID_STATE error.CONFLICT
// i18n-keys: error.NOT_FOUND error.FORBIDDEN error.UNAUTHENTICATED error.RATE_LIMITED error.SERVICE_UNAVAILABLE
// i18n-keys: error.VALIDATION_ERROR status.scheduled status.confirmed status.rescheduled status.completed
// i18n-keys: status.cancelled status.no-show channel.email channel.sms channel.push timing.24h timing.2h
// i18n-keys: timing.30m timing.15m reminder.pending reminder.sending reminder.sent reminder.failed reminder.cancelled
// i18n-keys: address.email address.sms address.push

function patientWords(error) {
  if (ERROR_CODES.includes(error.code)) return t(`error.${error.code}`);
  switch (error.code) {
    case 'BOOKING_LIMIT_REACHED':
      return /doctor/i.test(error.message || '') ? t('error.BOOKING_LIMIT_REACHED.sameDoctor')
        : t('error.BOOKING_LIMIT_REACHED');
    case 'NO_RECIPIENT': {
      const channels = (error.details && error.details.channels) || [];
      const named = channels.map((c) => t(`channel.${c}`)).join(t('list.and'));
      const addresses = channels.map((c) => t(`address.${c}`)).join(t('list.or'));
      return channels.length ? t('error.NO_RECIPIENT', { addresses, channels: named })
        : t('error.NO_RECIPIENT.none');
    }
    default:
      return error.status === 503 || error.status === 429 ? t('error.SERVICE_UNAVAILABLE') : t('error.ours');
  }
}

function plain(error) {
  return error instanceof ApiError ? patientWords(error) : t('error.unknown');
}

function retryButton(label, action) {
  return el('button', { type: 'button', text: label, onclick: action });
}

// --- display settings -----------------------------------------------------------------------------------------
function applySettings() {
  const saved = JSON.parse(localStorage.getItem('clinic.display') || '{}');
  const root = document.documentElement;
  root.dataset.theme = saved.theme || 'system';
  root.dataset.contrast = saved.contrast ? 'more' : 'normal';
  root.dataset.size = saved.size || '100';
  $('#theme').value = root.dataset.theme;
  $('#contrast').checked = Boolean(saved.contrast);
  $('#text-size').value = root.dataset.size;
}

function saveSettings() {
  localStorage.setItem('clinic.display', JSON.stringify({
    theme: $('#theme').value, contrast: $('#contrast').checked, size: $('#text-size').value,
  }));
  applySettings();
}

// --- sign in --------------------------------------------------------------------------------------------------
async function loadConfig() {
  try {
    const response = await fetch('/config.json', { cache: 'no-store' });
    return await response.json();
  } catch (err) {
    return { signIn: { mode: 'none' } };
  }
}

function b64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function cognitoSignIn() {
  // Authorization code with PKCE: the verifier stays in this tab; the Hosted UI gets only its hash.
  const { domain, clientId, scopes } = state.config.signIn;
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const stateValue = b64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem('clinic.pkce', JSON.stringify({ verifier, state: stateValue }));
  const query = new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: `${location.origin}/`, scope: scopes.join(' '),
    code_challenge_method: 'S256', code_challenge: challenge, state: stateValue,
  });
  location.assign(`https://${domain}/oauth2/authorize?${query}`);
}

async function cognitoCallback() {
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  const saved = JSON.parse(sessionStorage.getItem('clinic.pkce') || 'null');
  if (!code) return null;
  sessionStorage.removeItem('clinic.pkce');
  history.replaceState(null, '', '/');
  if (!saved || params.get('state') !== saved.state) {
    // Not the answer to a sign-in this tab started (a forged or replayed link): its code is never exchanged.
    $('#signin-message').textContent = t('signin.foreignLink');
    return null;
  }
  const { domain, clientId } = state.config.signIn;
  const response = await fetch(`https://${domain}/oauth2/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: clientId, code,
      redirect_uri: `${location.origin}/`, code_verifier: saved.verifier }),
  });
  if (!response.ok) {
    $('#signin-message').textContent = t('signin.failed');
    return null;
  }
  return (await response.json()).id_token;
}

function showSignIn() {
  const mode = state.config.signIn.mode;
  $('#signin').hidden = false;
  $('#app').hidden = true;
  $('#sign-out').hidden = true;
  $('#who').textContent = '';
  if (mode === 'development') {
    const select = $('#dev-user');
    select.replaceChildren(...state.config.signIn.users.map((u, i) => el('option', { value: String(i), text: u.label })));
    $('#dev-signin').hidden = false;
  } else if (mode === 'cognito') {
    $('#cognito-signin').hidden = false;
  } else {
    $('#signin-message').textContent = t('signin.notConfigured');
  }
}

function signedIn(token) {
  const claims = claimsOf(token);
  if (!claims || !claims.sub) return false;
  state.token = token;
  state.claims = claims;
  session.set(token);
  $('#signin').hidden = true;
  $('#app').hidden = false;
  $('#sign-out').hidden = false;
  $('#who').textContent = t('signin.who', { name: claims.name || claims['cognito:username'] || t('signin.patient') });
  return true;
}

function signOut() {
  releaseHold({ leaving: true });
  session.clear();
  state.token = null;
  location.assign('/');
}

// --- tabs -----------------------------------------------------------------------------------------------------
const TABS = ['book', 'mine', 'reminders'];
const TAB_TITLES = { book: 'tab.book.title', mine: 'tab.mine', reminders: 'tab.reminders' };

function showTitle(title) {
  $('#page-title').textContent = title;
  document.title = t('page.titleOf', { title });
}

function selectTab(name, focus = true) {
  for (const tab of TABS) {
    const button = $(`#tab-${tab}`);
    const selected = tab === name;
    button.setAttribute('aria-selected', String(selected));
    button.tabIndex = selected ? 0 : -1;
    $(`#panel-${tab}`).hidden = !selected;
  }
  $('#room').hidden = true;
  if (name !== 'book') releaseHold();
  showTitle(t(TAB_TITLES[name]));
  if (focus) $(`#tab-${name}`).focus();
  stopReminderPolling();
  if (name === 'mine') { loadAppointments(); waitlist.load(); }
  if (name === 'reminders') loadReminderVisits();
}

function tabKeys(event) {
  const index = TABS.indexOf(event.target.id.replace('tab-', ''));
  if (index < 0) return;
  const moves = { ArrowRight: 1, ArrowLeft: -1, Home: -index, End: TABS.length - 1 - index };
  if (!(event.key in moves)) return;
  event.preventDefault();
  selectTab(TABS[(index + moves[event.key] + TABS.length) % TABS.length]);
}

// --- find a doctor --------------------------------------------------------------------------------------------
async function nextFreeDay(doctor) {
  const hours = (doctor.availability && doctor.availability.workingHours) || {};
  const holidays = new Set((doctor.availability && doctor.availability.holidays) || []);
  let day = localDate(doctor.timezone);
  for (let tried = 0, asked = 0; tried < 42 && asked < 12; tried += 1, day = addDays(day, 1)) {
    if (!hours[weekday(day)] || holidays.has(day)) continue;
    asked += 1;
    const found = await api.json('GET', `/api/appointments/availability/${doctor.id}/${day}?onlyAvailable=true`,
      { retries: 1 });
    if (found.slots && found.slots.length) return day;
  }
  return null;
}

async function searchDoctors(event) {
  if (event) event.preventDefault();
  const query = new URLSearchParams();
  for (const name of ['q', 'specialty', 'location']) {
    const value = $(`#${name}`).value.trim();
    if (value) query.set(name, value);
  }
  const kind = $('#visit-kind').value;
  if (kind === 'telehealth') query.set('telehealth', 'true');
  const status = $('#doctors-status');
  const list = $('#doctors');
  status.replaceChildren(t('search.searching'));
  list.setAttribute('aria-busy', 'true'); // these cards are about to be replaced (assistive technology, and tests)
  state.search = (state.search || 0) + 1;
  const mine = state.search;
  try {
    const { doctors } = await api.json('GET', `/api/doctors?${query}`, { retries: 1 });
    if (mine !== state.search) return; // a later search has been asked for: its answer wins
    state.doctors = doctors;
    list.replaceChildren(...doctors.map(doctorCard));
    status.replaceChildren(doctors.length ? t(doctors.length > 1 ? 'search.found' : 'search.foundOne',
      { count: doctors.length }) : t('search.none'));
    for (const doctor of doctors) showNextFreeDay(doctor);
  } catch (err) {
    if (mine !== state.search) return;
    list.replaceChildren();
    status.replaceChildren(el('span', { class: 'error', text: plain(err) }), ' ',
      retryButton(t('action.tryAgain'), () => searchDoctors()));
  } finally {
    if (mine === state.search) list.setAttribute('aria-busy', 'false'); // the latest search's cards are shown
  }
}

function showNextFreeDay(doctor) {
  const line = $(`[data-next="${doctor.id}"]`);
  if (!line) return;
  line.replaceChildren(t('search.nextFree.looking'));
  nextFreeDay(doctor).then((day) => {
    line.replaceChildren(day ? t('search.nextFree', { day: longDate(day) }) : t('search.nextFree.none'));
    line.dataset.day = day || '';
  }).catch((err) => {
    line.replaceChildren(el('span', { class: 'error', text: t('search.nextFree.failed', { why: plain(err) }) }),
      ' ', retryButton(t('action.lookAgain'), () => showNextFreeDay(doctor)));
  });
}

function doctorCard(doctor) {
  return el('li', { class: 'card', 'data-doctor': doctor.id },
    el('h3', { text: doctor.name }),
    el('p', { text: `${doctor.specialty} · ${doctor.location}` }),
    el('p', { class: 'hint', text: `${t(doctor.telehealth ? 'search.visit.any' : 'search.inPersonOnly')} · ${doctor.timezone}` }),
    el('p', { 'data-next': doctor.id, 'aria-live': 'polite', text: t('search.nextFree.looking') }),
    el('button', { type: 'button', 'aria-label': t('search.seeTimesWith', { name: doctor.name }), text: t('search.seeTimes'),
      onclick: () => openDoctor(doctor) }));
}

let bookPicker = null;

async function ownVisits(doctorId, date) {
  // The patient's own active visits with this doctor that day: the picker shows them as "your visit".
  const { appointments } = await api.json('GET',
    `/api/appointments/patient/${state.claims.sub}?from=${date}&to=${date}`, { retries: 1 });
  return appointments.filter((a) => a.doctorId === doctorId && ACTIVE.has(a.status)).map((a) => a.startsAt);
}

async function openDoctor(doctor) {
  releaseHold();
  state.doctor = doctor;
  state.slot = null;
  $('#book-section').hidden = true;
  $('#picker-section').hidden = false;
  $('#picker-h').textContent = t('picker.headingWith', { name: doctor.name });
  waitlist.showJoin(doctor);
  const next = $(`[data-next="${doctor.id}"]`);
  const day = (next && next.dataset.day) || (await nextFreeDay(doctor).catch(() => null)) || addDays(localDate(doctor.timezone), 1);
  await bookPicker.open(doctor, day);
  $('#picker-h').focus();
}

// --- book -----------------------------------------------------------------------------------------------------
function pickSlot(slot) {
  state.slot = slot;
  const doctor = state.doctor;
  $('#book-section').hidden = false;
  const mine = zonesDiffer(slot.timezone) ? t('time.yours', { time: clockTime(slot.startsAt, patientZone()) }) : '';
  $('#chosen').textContent = t('book.chosen', { name: doctor.name, day: longDate(slot.date), time: slot.label || slot.time,
    yours: mine, zone: slot.timezone });
  $('#book-form').hidden = false;
  $('#telehealth-option').hidden = !doctor.telehealth;
  if (!doctor.telehealth) $('input[name=type][value=in-person]').checked = true;
  const length = (doctor.availability && doctor.availability.appointmentDuration) || 30;
  $('#duration').replaceChildren(el('option', { value: String(length), text: t('book.minutes', { count: length }) }));
  clearErrors();
  $('#booked').textContent = '';
  $('#book-h').focus();
  if (!(hold.current && hold.current.startsAt === slot.startsAt)) holdSlot(slot);
}

// --- a hold on the chosen time --------------------------------------------------------------------------------
// Picking a time holds it for the patient (POST /api/holds) while the form is filled in, so the booking itself
// cannot be beaten to it; choosing another time, another tab, signing out or leaving the page releases it. The
// countdown is a role=timer (never read out by itself); the patient hears the hold at its start, a minute before
// its end, and when it ends.
const hold = { current: null, pending: null, run: 0, deadline: 0, warned: false, timer: null };

function holdBody(slot) {
  const body = { doctorId: slot.doctorId, date: slot.date, time: slot.time, startsAt: slot.startsAt,
    type: $('input[name=type]:checked').value };
  const length = Number($('#duration').value);
  if (length) body.duration = length;
  return body;
}

function holdSlot(slot) {
  // the earlier hold is given back first: held together, the two would count twice against the patient's limits
  const released = releaseHold();
  const run = ++hold.run;
  const body = holdBody(slot);
  hold.pending = (async () => {
    let response;
    let answer = null;
    try {
      await released;
      if (run !== hold.run) return;
      response = await api.request('POST', '/api/holds', { body, headers: { 'Idempotency-Key': newKey() }, retries: 1 });
      answer = await response.json().catch(() => null);
    } catch (err) {
      return; // no hold (the network): the booking goes on without one, as before holds
    }
    if (run !== hold.run) {
      if (response.ok && answer) sendRelease(answer.id); // another time was chosen meanwhile
      return;
    }
    if (response.ok && answer) {
      startHold(answer, response.headers.get('Date'));
    } else if (response.status === 409 && answer && answer.error && answer.error.code === 'SLOT_UNAVAILABLE') {
      await bookPicker.refresh().catch(() => {});
      if (run === hold.run && state.slot === slot) offerOthers('hold.taken.alternatives', 'hold.taken.anotherDay').focus();
    }
    // any other refusal (a limit, the clinic busy) is said by the booking, which meets it too
  })().finally(() => { if (run === hold.run) hold.pending = null; });
}

function startHold(held, serverDate) {
  // the time left as the server counts it, on this device's clock (the two clocks need not agree)
  const server = Date.parse(serverDate || '');
  const left = Date.parse(held.expiresAt) - (Number.isNaN(server) ? Date.now() : server);
  hold.current = held;
  hold.deadline = Date.now() + left;
  hold.warned = false;
  clearInterval(hold.timer);
  hold.timer = setInterval(tickHold, 1000);
  tickHold();
  announce(t('hold.started', { time: state.slot.label || held.time, count: Math.max(1, Math.round(left / 60000)) }));
}

function holdWords(left) {
  const seconds = Math.max(0, Math.ceil(left / 1000));
  return t('hold.left', { left: `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}` });
}

function tickHold() {
  if (!hold.current) return;
  const left = hold.deadline - Date.now();
  if (left <= 0) {
    lapseHold();
    return;
  }
  const words = holdWords(left);
  bookPicker.setHeld(hold.current.startsAt, words);
  const line = $('#hold-status');
  line.hidden = false;
  if (line.textContent !== words) line.textContent = words;
  if (left <= 60000 && !hold.warned) {
    hold.warned = true;
    announce(t('hold.oneMinute'));
  }
}

function stopHold() {
  clearInterval(hold.timer);
  hold.timer = null;
  hold.current = null;
  bookPicker.setHeld(null);
  $('#hold-status').hidden = true;
  $('#hold-status').textContent = '';
}

function sendRelease(id, leaving = false) {
  // best effort: a release that never arrives lapses by itself at its expiry
  return api.request('DELETE', `/api/holds/${id}`, { headers: { 'Idempotency-Key': newKey() }, keepalive: leaving,
    retries: leaving ? 0 : 1 }).catch(() => {});
}

function releaseHold({ leaving = false } = {}) {
  hold.run += 1; // a hold still on its way is released when it arrives
  hold.pending = null;
  if (!hold.current) return Promise.resolve();
  const released = sendRelease(hold.current.id, leaving);
  stopHold();
  return released;
}

function lapseHold() {
  // the time is no longer kept: the patient is told, and the day is read again so the time can be picked again
  const time = state.slot ? state.slot.label || state.slot.time : '';
  releaseHold();
  bookPicker.choose(null);
  const words = t('hold.lapsed', { time });
  $('#err-slot').textContent = words;
  announce(words);
  bookPicker.refresh().catch(() => {});
}

function heldFor(body) {
  // the hold that books this time, if there is one for it of the same kind of visit
  const held = hold.current;
  return held && state.slot && held.startsAt === state.slot.startsAt && held.type === body.type ? held : null;
}

function clearErrors() {
  for (const node of document.querySelectorAll('#book-form .error')) node.textContent = '';
  for (const node of document.querySelectorAll('#book-form [aria-invalid]')) node.removeAttribute('aria-invalid');
  $('#alternatives').replaceChildren();
}

function fieldError(name, message) {
  // Returns what the keyboard should land on for a mistake found before sending: the field itself.
  const target = { reason: 'reason', reminders: 'reminders', slot: 'slot', form: 'form' }[name] || 'form';
  $(`#err-${target}`).textContent = message;
  const input = { reason: '#reason', reminders: '#reminders-field', slot: '#chosen' }[target];
  if (input) $(input).setAttribute('aria-invalid', 'true');
  return input ? $(input) : $('#err-form');
}

function errorMessage(name, message) {
  // A refusal from the server: focus lands on the message itself, which says what to do next.
  fieldError(name, message);
  const target = { reason: 'reason', reminders: 'reminders', slot: 'slot', form: 'form' }[name] || 'form';
  return $(`#err-${target}`);
}

function bookingBody() {
  const form = $('#book-form');
  const channels = [...form.querySelectorAll('input[name=channel]:checked')].map((c) => c.value);
  const timings = [...form.querySelectorAll('input[name=timing]:checked')].map((c) => c.value);
  const body = {
    doctorId: state.doctor.id, date: state.slot.date, time: state.slot.time, startsAt: state.slot.startsAt,
    type: form.querySelector('input[name=type]:checked').value, reason: $('#reason').value.trim(),
  };
  const length = Number($('#duration').value);
  if (length) body.duration = length;
  if (channels.length) {
    body.reminderPreferences = { email: channels.includes('email'), sms: channels.includes('sms'),
      push: channels.includes('push'), timings };
  }
  return { body, channels, timings };
}

function validate({ body, channels, timings }) {
  const problems = [];
  if (!body.reason) problems.push(['reason', t('book.check.reason')]);
  else if (body.reason.length > 500) problems.push(['reason', t('book.check.reasonLength')]);
  if (channels.length && !timings.length) problems.push(['reminders', t('book.check.timings')]);
  if (state.slot && new Date(state.slot.startsAt) <= new Date()) problems.push(['slot', t('book.check.past')]);
  return problems;
}

const SERVER_FIELDS = { reason: 'reason', reminderPreferences: 'reminders', date: 'slot', time: 'slot',
  duration: 'slot', type: 'form' };

function offerOthers(withOthers, withNone) {
  // the chosen time is gone: said by the time, with the next free ones of the day as buttons
  const options = bookPicker.nextFree(3).filter((s) => s.startsAt !== state.slot.startsAt);
  const message = errorMessage('slot', t(options.length ? withOthers : withNone));
  $('#alternatives').replaceChildren(...options.map((s) => el('button', {
    type: 'button', text: s.label, 'aria-label': t('book.taken.instead', { time: s.label }),
    onclick: () => {
      const button = $(`#book-picker button[data-starts-at="${s.startsAt}"]`);
      if (button) button.click();
    },
  })));
  return message;
}

function showServerError(error) {
  // Returns the message to focus: the patient hears what went wrong and what to do next.
  if (error.code === 'SLOT_UNAVAILABLE') return offerOthers('book.taken.alternatives', 'book.taken.anotherDay');
  if (error.code === 'NO_RECIPIENT' || error.code === 'PUSH_NOT_CONFIGURED') {
    return errorMessage('reminders', patientWords(error));
  }
  if (['TOO_LATE_TO_CHANGE', 'OUTSIDE_BOOKING_WINDOW', 'OUTSIDE_WORKING_HOURS', 'DAILY_LIMIT_REACHED',
    'AMBIGUOUS_LOCAL_TIME', 'BOOKING_LIMIT_REACHED'].includes(error.code)) {
    return errorMessage('slot', patientWords(error));
  }
  const fields = Object.keys(error.fields);
  if (fields.length) {
    let first = null;
    for (const name of fields) {
      const key = SERVER_FIELDS[name.split('.')[0]] || 'form';
      const shown = errorMessage(key, { reason: t('book.server.reason'), reminders: t('book.server.reminders'),
        slot: t('book.server.slot') }[key] || patientWords(error));
      first = first || shown;
    }
    return first;
  }
  return errorMessage('form', patientWords(error));
}

async function book(event) {
  event.preventDefault();
  clearErrors();
  const built = bookingBody();
  const problems = validate(built);
  if (problems.length) {
    const first = problems.map(([name, message]) => fieldError(name, message))[0];
    first.focus();
    return;
  }
  if (hold.pending) await hold.pending; // a hold on its way is waited for, so the booking can use it
  let held = heldFor(built.body);
  if (hold.current && !held) {
    await releaseHold(); // held as another kind of visit: given back, and the time booked as chosen now
  }
  if (held) {
    // the hold's own time, doctor and kind of visit: only what the form adds is sent
    const { reason, reminderPreferences } = built.body;
    built.body = { holdId: held.id, reason, ...(reminderPreferences ? { reminderPreferences } : {}) };
  }
  // One key per booking attempt: a retry of the same booking (same body) reuses it, so it never books twice.
  const bodyText = JSON.stringify(built.body);
  if (state.bookingBody !== bodyText) {
    state.bookingKey = newKey();
    state.bookingBody = bodyText;
  }
  const button = $('#book-button');
  button.disabled = true;
  button.textContent = t('book.booking');
  try {
    const made = await api.json('POST', '/api/appointments', {
      body: built.body, headers: { 'Idempotency-Key': state.bookingKey }, retries: 2,
    });
    state.bookingKey = null;
    state.bookingBody = null;
    if (held) {
      hold.current = null; // it became the visit: nothing to release
      stopHold();
      held = null;
    }
    // The form is done with: it is put away until another time is chosen, and the time shows as the patient's.
    const booked = state.slot;
    state.slot = null;
    $('#book-form').reset();
    $('#book-form').hidden = true;
    bookPicker.choose(null);
    bookPicker.markOwn([made.startsAt]);
    const done = $('#booked');
    done.replaceChildren(...confirmation(made, booked.label || made.time, built.channels, built.timings));
    $('#book-section').hidden = false;
    announce(t('book.done.announce'));
    done.focus();
  } catch (err) {
    if (held && err instanceof ApiError && (err.code === 'NOT_FOUND' || err.details.reason === 'hold_expired')) {
      // the hold ended before the booking reached it (it lapsed, or was released): said, and the day read again
      lapseHold();
      $('#err-slot').focus();
      return;
    }
    const message = err instanceof ApiError ? showServerError(err) : errorMessage('form', plain(err));
    message.focus();
  } finally {
    button.disabled = false;
    button.textContent = t('book.button');
  }
}

function confirmation(made, label, channels, timings) {
  // What was booked, when (the doctor's time, and the patient's when it differs), where or how to join, the
  // reminders set, and the calendar file: all the patient needs without opening anything else.
  const zone = made.timezone;
  const yours = zonesDiffer(zone)
    ? t('book.done.yours', { time: clockTime(made.startsAt, patientZone()), zone: patientZone() }) : null;
  const where = made.type === 'telehealth' ? t('book.done.byVideo') : t('book.done.inPerson', { place: made.location });
  const reminders = channels.flatMap((c) => timings.map((timing) => `${t(`channel.${c}`)}, ${t(`timing.${timing}`)}`));
  const what = t(made.type === 'telehealth' ? 'book.done.videoWith' : 'book.done.visitWith', { name: made.doctorName });
  return [
    el('h3', { text: t('book.done.heading') }),
    el('p', { text: t('book.done.booked', { name: made.doctorName, day: longDate(made.date), time: label, zone }) }),
    el('dl', { class: 'summary' },
      el('dt', { text: t('book.done.what') }),
      el('dd', { text: `${what}${made.specialty ? ` (${made.specialty})` : ''}, `
        + t('book.minutes', { count: made.duration }) }),
      el('dt', { text: t('book.done.when') }),
      el('dd', {}, t('book.done.whenDoctor', { day: longDate(made.date), time: label, zone }), yours ? el('br') : null,
        yours),
      el('dt', { text: t('book.done.where') }),
      el('dd', { text: where }),
      el('dt', { text: t('reminders.heading') }),
      el('dd', {}, reminders.length ? el('ul', {}, ...reminders.map((r) => el('li', { text: r })))
        : t('book.done.noReminders'))),
    el('div', { class: 'actions' },
      el('button', { type: 'button', text: t('action.addToCalendar'), onclick: () => downloadIcs(made) }),
      el('button', { type: 'button', text: t('book.done.seeMine'), onclick: () => selectTab('mine') })),
    el('p', { class: 'hint', text: t('book.done.another') }),
  ];
}

// --- my appointments ------------------------------------------------------------------------------------------
function when(appointment) {
  const mine = zonesDiffer(appointment.timezone)
    ? t('time.yours', { time: clockTime(appointment.startsAt, patientZone()) }) : '';
  return t('mine.when', { day: longDate(appointment.date), time: appointment.time, yours: mine, zone: appointment.timezone });
}

async function loadAppointments(event) {
  if (event) event.preventDefault();
  const today = localDate(patientZone());
  const past = $('#mine-when').value === 'past';
  const query = new URLSearchParams(past ? { from: addDays(today, -91), to: today }
    : { from: addDays(today, -1), to: addDays(today, 90) });  // 92 days, the API's widest window
  if ($('#mine-status').value) query.set('status', $('#mine-status').value);
  if ($('#mine-type').value) query.set('type', $('#mine-type').value);
  const line = $('#mine-status-line');
  const list = $('#mine');
  state.mineLoads = (state.mineLoads || 0) + 1;
  list.setAttribute('aria-busy', 'true');  // assistive technology (and tests) know the list is being refreshed
  try {
    const { appointments } = await api.json('GET', `/api/appointments/patient/${state.claims.sub}?${query}`,
      { retries: 1 });
    const now = Date.now();
    state.appointments = appointments.filter((a) => past ? new Date(a.endsAt) < now : new Date(a.endsAt) >= now);
    list.replaceChildren(...state.appointments.map(keepOpenCard));
    line.textContent = state.appointments.length ? t('mine.count', { count: state.appointments.length })
      : t('mine.none');
  } catch (err) {
    line.textContent = plain(err);
  } finally {
    state.mineLoads -= 1;
    if (!state.mineLoads) list.setAttribute('aria-busy', 'false');
  }
}

// A refreshed list keeps a card the patient is working in (a reschedule picker or a cancel question open), so a
// click made while the list was loading is not undone by the answer; a visit that changed meanwhile is redrawn.
function keepOpenCard(a) {
  const shown = $(`#mine li[data-appointment="${a.id}"]`);
  if (shown && shown.dataset.version === visitVersion(a) && $('.card-extra', shown).childElementCount) return shown;
  if (shown && shown.picker) shown.picker.close();
  return appointmentCard(a);
}

function visitVersion(a) {
  return `${a.status}|${a.date}|${a.time}|${a.updatedAt || ''}`;
}

function appointmentCard(a) {
  const active = ACTIVE.has(a.status);
  const card = el('li', { class: 'card', 'data-appointment': a.id, 'data-version': visitVersion(a) },
    el('h3', { text: `${a.doctorName}, ${a.specialty}` }),
    el('p', { text: when(a) }),
    el('p', { text: `${a.type === 'telehealth' ? t('room.heading') : t('mine.inPersonAt', { place: a.location })} · `
      + t('book.minutes', { count: a.duration }) }),
    el('p', {}, t('mine.statusLabel'), el('span', { class: `status status-${a.status}`, 'data-status': a.status,
      text: statusWords(a.status) })));
  const actions = el('div', { class: 'actions' });
  if (active && a.canReschedule) {
    actions.append(
      el('button', { type: 'button', text: t('mine.reschedule'),
        'aria-label': t('mine.rescheduleLabel', { date: a.date, time: a.time }), onclick: () => reschedule(a, card) }),
      el('button', { type: 'button', class: 'danger', text: t('mine.cancel'),
        'aria-label': t('mine.cancelLabel', { date: a.date, time: a.time }), onclick: () => confirmCancel(a, card) }));
  } else if (active) {
    const minutes = state.config.changeWindowMinutes || 120;
    const before = minutes >= 60 ? t('mine.hours', { count: minutes / 60 }) : t('book.minutes', { count: minutes });
    card.append(el('p', { class: 'hint', text: t('mine.changesClosed', { before }) }));
  }
  if (active) {
    actions.append(
      el('button', { type: 'button', text: t('action.addToCalendar'), onclick: () => downloadIcs(a) }),
      el('button', { type: 'button', text: t('tab.reminders'),
        onclick: () => { selectTab('reminders'); showReminders(a.id); } }));
    if (a.type === 'telehealth') {
      actions.append(el('button', { type: 'button', text: t('device.check'), onclick: () => deviceCheck(a, card) }));
      const opens = joinOpensAt(a);
      actions.append(el('button', { type: 'button', text: t('room.join'), 'aria-describedby': `join-${a.id}`,
        'aria-disabled': String(Date.now() < opens.getTime()),
        onclick: (e) => { if (e.currentTarget.getAttribute('aria-disabled') !== 'true') joinRoom(a); } }));
      card.append(el('p', { class: 'hint', id: `join-${a.id}`,
        text: t('room.joinFrom', { at: opens.toLocaleString(language(), { dateStyle: 'medium', timeStyle: 'short' }) }) }));
    }
  }
  card.append(actions, el('div', { class: 'card-extra' }));
  return card;
}

function confirmCancel(a, card) {
  const extra = $('.card-extra', card);
  extra.replaceChildren(
    el('p', { text: t('mine.cancel.question') }),
    el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'danger solid', text: t('mine.cancel.yes'), onclick: () => cancel(a, card) }),
      el('button', { type: 'button', text: t('mine.cancel.keep'), onclick: () => { extra.replaceChildren(); } })));
  extra.querySelector('button').focus();
}

async function cancel(a, card) {
  // The key makes the retry safe: a cancel that landed but whose answer was lost reads as the success it was.
  card.cancelKey = card.cancelKey || newKey();
  try {
    const done = await api.json('DELETE', `/api/appointments/${a.id}`,
      { headers: { 'Idempotency-Key': card.cancelKey }, retries: 1 });
    const fresh = appointmentCard(done);
    card.replaceWith(fresh);
    announce(t('mine.cancel.done', { date: done.date, time: done.time }));
    fresh.tabIndex = -1;
    fresh.focus();
  } catch (err) {
    $('.card-extra', card).replaceChildren(el('p', { class: 'error', role: 'alert', text: plain(err) }));
  }
}

async function reschedule(a, card) {
  const extra = $('.card-extra', card);
  extra.replaceChildren(el('p', { class: 'message', role: 'status', text: t('mine.move.loading') }));
  let doctor;
  try {
    doctor = await api.json('GET', `/api/doctors/${a.doctorId}`, { retries: 1 });
  } catch (err) {
    extra.replaceChildren(el('p', { class: 'error', role: 'alert', text: plain(err) }),
      retryButton(t('action.tryAgain'), () => reschedule(a, card)));
    return;
  }
  const holder = el('div', { class: 'reschedule' });
  const message = el('p', { class: 'message', role: 'status', tabindex: '-1' });
  const confirm = el('div', { class: 'confirm-move' });
  extra.replaceChildren(el('h4', { text: t('mine.move.heading'), tabindex: '-1' }), holder, confirm, message,
    el('button', { type: 'button', text: t('mine.move.keep'), onclick: () => { picker.close(); extra.replaceChildren(); } }));
  let moveKey = null;
  let moveBody = null;
  async function move(slot) {
    // One key per move: a retry of the same move (after a lost answer) reads as the success it was.
    const body = { date: slot.date, time: slot.time, startsAt: slot.startsAt };
    if (JSON.stringify(body) !== moveBody) {
      moveBody = JSON.stringify(body);
      moveKey = newKey();
    }
    confirm.replaceChildren();
    message.textContent = t('mine.move.moving', { time: slot.label });
    try {
      const moved = await api.json('PUT', `/api/appointments/${a.id}/reschedule`, {
        body, headers: { 'Idempotency-Key': moveKey }, retries: 1,
      });
      picker.close();
      const fresh = appointmentCard(moved);
      card.replaceWith(fresh);
      announce(t('mine.move.done', { day: longDate(moved.date), time: slot.label }));
      fresh.tabIndex = -1;
      fresh.focus();
    } catch (err) {
      message.textContent = plain(err);
      message.focus();
    }
  }
  const picker = new SlotPicker(holder, api, {
    announce,
    ownVisits,
    onPick: (slot) => {
      // Nothing moves on one click: the patient confirms the new time first.
      message.textContent = '';
      confirm.replaceChildren(
        el('p', { text: t('mine.move.question', { fromDay: longDate(a.date), fromTime: a.time, toDay: longDate(slot.date),
          toTime: slot.label }) }),
        el('div', { class: 'actions' },
          el('button', { type: 'button', text: t('mine.move.yes'), onclick: () => move(slot) }),
          el('button', { type: 'button', text: t('mine.move.another'), onclick: () => {
            confirm.replaceChildren();
            picker.choose(null);
            extra.querySelector('h4').focus();
          } })));
      confirm.querySelector('button').focus();
    },
  });
  card.picker = picker;
  await picker.open(doctor, a.date, [a.startsAt]);
  extra.querySelector('h4').focus();
}

async function downloadIcs(a) {
  const response = await api.request('GET', `/api/appointments/${a.id}/calendar.ics`, { retries: 1 });
  if (!response.ok) {
    announce(t('calendar.failed'));
    return;
  }
  const url = URL.createObjectURL(await response.blob());
  const link = el('a', { href: url, download: `visit-${a.date}.ics` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// --- reminders ------------------------------------------------------------------------------------------------
const TIMINGS = ['24h', '2h', '30m', '15m'];
const LINK_TIMING = '10m';
const REMINDER_STATUSES = ['pending', 'sending', 'sent', 'failed', 'cancelled'];
const reminderWords = (status) => (REMINDER_STATUSES.includes(status) ? t(`reminder.${status}`) : status);

function isLinkReminder(r) {
  // A video visit's link reminder (ten minutes before, carrying the link to join): not a timing to choose.
  return r.kind ? /link/i.test(r.kind) : r.timing === LINK_TIMING;
}

function holdsItsPlace(r) {
  // a reminder the clinic counts as there: to be sent, or sent (cancelled ones leave their timing free)
  return r.status !== 'cancelled';
}

function reminderError(error) {
  return error instanceof ApiError && error.code === 'CONFLICT' ? t('reminders.duplicate') : plain(error);
}

function reminderTitle(r) {
  if (isLinkReminder(r)) return t('reminders.linkTitle', { channel: t(`channel.${r.type}`) });
  return TIMINGS.includes(r.timing) ? t('reminders.title', { channel: t(`channel.${r.type}`), timing: t(`timing.${r.timing}`) })
    : t(`channel.${r.type}`);
}

async function loadReminderVisits() {
  const select = $('#reminder-visit');
  const today = localDate(patientZone());
  try {
    const { appointments } = await api.json('GET',
      `/api/appointments/patient/${state.claims.sub}?from=${addDays(today, -1)}&to=${addDays(today, 90)}`, { retries: 1 });
    const active = appointments.filter((a) => new Date(a.endsAt) > Date.now());
    const wanted = select.dataset.wanted || select.value;
    select.replaceChildren(...active.map((a) => el('option', { value: a.id,
      text: `${a.doctorName}, ${a.date} ${a.time}${ACTIVE.has(a.status) ? '' : ` (${statusWords(a.status)})`}` })));
    if (!active.length) {
      $('#reminders').replaceChildren();
      $('#reminders-status').textContent = t('reminders.noVisits');
      return;
    }
    if (active.some((a) => a.id === wanted)) select.value = wanted;
    delete select.dataset.wanted;
    await refreshReminders();
    startReminderPolling();
  } catch (err) {
    $('#reminders-status').textContent = plain(err);
  }
}

function showReminders(appointmentId) {
  $('#reminder-visit').dataset.wanted = appointmentId;
}

async function refreshReminders() {
  const id = $('#reminder-visit').value;
  if (!id) return;
  const { reminders } = await api.json('GET', `/api/reminders/appointment/${id}`, { retries: 1 });
  const list = $('#reminders');
  const focusedId = document.activeElement && document.activeElement.closest('[data-reminder]')?.dataset.reminder;
  const focusedRole = document.activeElement && document.activeElement.dataset.role;
  const before = new Map([...list.querySelectorAll('[data-reminder]')].map((n) => [n.dataset.reminder, n.dataset.state]));
  state.reminders = reminders;
  list.replaceChildren(...reminders.map((r) => reminderCard(r, reminders)));
  syncAddTimings();
  for (const r of reminders) {
    if (before.has(r.id) && before.get(r.id) !== r.status) {
      announce(t('reminders.nowStatus', { reminder: reminderTitle(r), status: reminderWords(r.status).toLowerCase() }));
    }
  }
  if (focusedId) {
    const again = list.querySelector(`[data-reminder="${focusedId}"] [data-role="${focusedRole}"]`)
      || list.querySelector(`[data-reminder="${focusedId}"]`);
    if (again) again.focus();
  }
  $('#reminders-status').textContent = reminders.length ? '' : t('reminders.none');
}

function reminderCard(r, all) {
  const at = new Date(r.scheduledTime);
  const item = el('li', { class: 'card', 'data-reminder': r.id, 'data-state': r.status, tabindex: '-1' },
    el('h3', { text: reminderTitle(r) }),
    el('p', { text: t('reminders.plannedFor', { at: at.toLocaleString(language(), { dateStyle: 'medium', timeStyle: 'short' }) }) }),
    el('p', {}, t('mine.statusLabel'), el('span', { class: `status status-${r.status}`, text: reminderWords(r.status) })));
  if (r.status === 'pending') {
    const actions = el('div', { class: 'actions' });
    // Timings this channel already has are not offered: the clinic refuses a second identical reminder.
    const taken = new Set(all.filter((o) => o.id !== r.id && o.type === r.type && holdsItsPlace(o)
      && !isLinkReminder(o)).map((o) => o.timing));
    const choices = TIMINGS.map((value) => [value, t(`timing.${value}`)])
      .filter(([value]) => value === r.timing || !taken.has(value));
    if (!isLinkReminder(r) && choices.length > 1) {
      const id = `timing-${r.id}`;
      const select = el('select', { id, 'data-role': 'timing' },
        ...choices.map(([value, words]) => el('option', { value, text: words })));
      if (TIMINGS.includes(r.timing)) select.value = r.timing;
      actions.append(el('label', { for: id, text: t('reminders.changeTo') }), select,
        el('button', { type: 'button', 'data-role': 'change', text: t('reminders.change'),
          onclick: () => changeReminder(r, select.value) }));
    }
    actions.append(el('button', { type: 'button', class: 'danger', 'data-role': 'cancel', text: t('reminders.cancel'),
      onclick: () => cancelReminder(r) }));
    item.append(actions);
  }
  if (r.lastError && r.status === 'failed') item.append(el('p', { class: 'hint', text: t('reminders.notDelivered') }));
  return item;
}

function syncAddTimings() {
  // "Add a reminder" does not offer a timing every chosen channel already has pending.
  const channels = [...document.querySelectorAll('input[name=add-channel]:checked')].map((c) => c.value);
  const kept = (state.reminders || []).filter((r) => holdsItsPlace(r) && !isLinkReminder(r));
  for (const option of $('#add-timing').options) {
    option.disabled = channels.length > 0
      && channels.every((c) => kept.some((r) => r.type === c && r.timing === option.value));
  }
  const select = $('#add-timing');
  if (select.selectedOptions[0] && select.selectedOptions[0].disabled) {
    const free = [...select.options].find((o) => !o.disabled);
    if (free) select.value = free.value;
  }
}

const writeKeys = new Map();

function keyFor(what) {
  // One key per intended change, kept until it succeeds: a retry of the same change reuses it.
  if (!writeKeys.has(what)) writeKeys.set(what, newKey());
  return writeKeys.get(what);
}

async function changeReminder(r, timing) {
  if (timing === r.timing) {
    $('#reminders-status').textContent = t('reminders.sameTime');
    return;
  }
  const what = `PUT ${r.id} ${timing}`;
  try {
    await api.json('PUT', `/api/reminders/${r.id}`, { body: { timing },
      headers: { 'Idempotency-Key': keyFor(what) }, retries: 1 });
    writeKeys.delete(what);
    $('#reminders-status').textContent = '';
    announce(t('reminders.changed'));
  } catch (err) {
    $('#reminders-status').textContent = reminderError(err);
  }
  await refreshReminders();
}

async function cancelReminder(r) {
  const what = `DELETE ${r.id}`;
  try {
    await api.json('DELETE', `/api/reminders/${r.id}`, { headers: { 'Idempotency-Key': keyFor(what) }, retries: 1 });
    writeKeys.delete(what);
    announce(t('reminders.cancelled'));
  } catch (err) {
    $('#reminders-status').textContent = plain(err);
  }
  await refreshReminders();
}

async function addReminder(event) {
  event.preventDefault();
  const channels = [...document.querySelectorAll('input[name=add-channel]:checked')].map((c) => c.value);
  const error = $('#err-add');
  error.textContent = '';
  if (!channels.length) {
    error.textContent = t('reminders.add.channel');
    document.querySelector('input[name=add-channel]').focus();
    return;
  }
  const body = { appointmentId: $('#reminder-visit').value, email: channels.includes('email'),
    sms: channels.includes('sms'), push: channels.includes('push'), timings: [$('#add-timing').value] };
  const what = `POST ${JSON.stringify(body)}`;
  try {
    await api.json('POST', '/api/reminders/schedule', { body, headers: { 'Idempotency-Key': keyFor(what) }, retries: 1 });
    writeKeys.delete(what);
    $('#add-reminder').reset();
    announce(t('reminders.added'));
  } catch (err) {
    error.textContent = reminderError(err);
  }
  await refreshReminders();
}

function startReminderPolling() {
  stopReminderPolling();
  state.reminderTimer = setInterval(() => refreshReminders().catch(() => {}), 5000);
}

function stopReminderPolling() {
  if (state.reminderTimer) clearInterval(state.reminderTimer);
  state.reminderTimer = null;
}

// --- telehealth -----------------------------------------------------------------------------------------------
function problemWords(failure) {
  // a failure of the device check in the patient's words (the server writes English); as it came when unknown
  const kind = problemOf(failure);
  if (!kind) return failure;
  const [measured, needed] = (failure.match(/\d+(?:\.\d+)?(?= Mbps)/g) || ['?', '?']);
  return t(`device.problem.${kind}`, { measured, needed });
}

async function deviceCheck(a, card) {
  const extra = $('.card-extra', card);
  const status = el('p', { class: 'message', role: 'status', tabindex: '-1', text: t('device.checking') });
  extra.replaceChildren(status);
  try {
    const doctor = await api.json('GET', `/api/doctors/${a.doctorId}`, { retries: 1 });
    const result = await requirementsCheck(api, doctor.telehealthPlatform || 'custom');
    if (result.pass) {
      status.textContent = t('device.ready');
    } else {
      status.textContent = t('device.attention');
      extra.append(el('ul', { class: 'failures' }, ...result.failures.map((f) => el('li', {},
        el('strong', { text: problemWords(f) }), ' ', el('span', { text: t(adviceFor(f)) })))));
      if (result.denied) extra.append(el('p', { class: 'hint', text: t('device.blocked') }));
    }
    extra.append(el('button', { type: 'button', text: t('device.again'), onclick: () => deviceCheck(a, card) }));
  } catch (err) {
    status.textContent = plain(err);
  }
  status.focus();
}

async function joinRoom(a) {
  try {
    const link = await api.json('POST', `/api/telehealth/generate-url/${a.id}`, { retries: 1 });
    openRoom(link.roomId, link.token);
  } catch (err) {
    announce(plain(err));
  }
}

function openRoom(roomId, token) {
  for (const tab of TABS) $(`#panel-${tab}`).hidden = true;
  $('#room').hidden = false;
  showTitle(t('room.heading'));
  $('#room-h').focus();
  const poll = async () => {
    try {
      const room = await api.json('GET', `/api/telehealth/room/${roomId}?token=${encodeURIComponent(token)}`,
        { keepSession: true }); // a 401 here is about the room link, not the sign-in
      const status = $('#room-status');
      const join = $('#room-join');
      if (room.status === 'ended') {
        status.textContent = t('room.ended');
        join.replaceChildren();
        stopRoom();
      } else if (room.join) {
        if (status.dataset.state !== 'joined') announce(t('room.admitted'));
        status.dataset.state = 'joined';
        status.textContent = t('room.inVisit');
        const raw = room.join.joinUrl || room.join.url;
        const url = /^https?:\/\//.test(raw || '') ? raw : null;
        join.replaceChildren(url ? el('a', { href: url, target: '_blank', rel: 'noopener', class: 'button',
          text: t('room.open') }) : el('p', { text: t('room.ready') }));
      } else {
        status.dataset.state = 'waiting';
        status.textContent = t('room.waiting');
      }
    } catch (err) {
      $('#room-status').textContent = plain(err);
    }
  };
  stopRoom();
  poll();
  state.roomTimer = setInterval(poll, 2000);
}

function stopRoom() {
  if (state.roomTimer) clearInterval(state.roomTimer);
  state.roomTimer = null;
}

// --- language -------------------------------------------------------------------------------------------------
async function useLanguage(lang) {
  // the catalogue, then every word on the page, dates and times as the language writes them
  const used = await load(lang);
  setDateLocale(used);
  setPassWords({ first: t('time.firstPass'), second: t('time.secondPass') });
  translatePage();
  $('#language').value = LANGUAGES.includes(used) ? used : '';
}

async function chooseLanguage() {
  // saved in this browser and, once signed in, with the patient (its reminders and calendar files follow it);
  // the page starts again in it
  const lang = $('#language').value;
  remember(lang);
  if (state.token) await api.json('PATCH', '/api/patients/me', { body: { language: lang }, retries: 1 }).catch(() => {});
  location.reload();
}

async function syncLanguage() {
  // The patient's own record: its language, if it chose one (on another device, or at the desk), wins; one chosen
  // here before signing in is saved to it.
  try {
    const me = await api.json('PUT', '/api/patients/me', { retries: 1 });
    if (me.language && me.language !== language()) {
      remember(me.language);
      await useLanguage(me.language);
      selectTab('book', false);
      searchDoctors();
    } else if (!me.language && localStorage.getItem('clinic.lang') && LANGUAGES.includes(language())) {
      await api.json('PATCH', '/api/patients/me', { body: { language: language() }, retries: 1 });
    }
  } catch (err) {
    // the page stays in the language it has; bookings still work
  }
}

// --- start ----------------------------------------------------------------------------------------------------
async function start() {
  rememberRoomLink();
  rememberWaitlistLink();
  applySettings();
  await useLanguage(chosenLanguage());
  $('#language').addEventListener('change', chooseLanguage);
  for (const id of ['#theme', '#contrast', '#text-size']) $(id).addEventListener('change', saveSettings);
  state.config = await loadConfig();
  $('#sign-out').addEventListener('click', signOut);
  $('#dev-signin').addEventListener('submit', (event) => {
    event.preventDefault();
    const user = state.config.signIn.users[Number($('#dev-user').value)];
    if (signedIn(user.token)) afterSignIn();
  });
  $('#cognito-button').addEventListener('click', cognitoSignIn);
  for (const tab of TABS) $(`#tab-${tab}`).addEventListener('click', () => selectTab(tab));
  $('.tabs').addEventListener('keydown', tabKeys);
  $('#search').addEventListener('submit', searchDoctors);
  $('#book-form').addEventListener('submit', book);
  $('#mine-filter').addEventListener('submit', loadAppointments);
  $('#reminder-visit').addEventListener('change', () => refreshReminders().catch(() => {}));
  $('#add-reminder').addEventListener('submit', addReminder);
  $('#add-reminder').addEventListener('change', (event) => {
    if (event.target.name === 'add-channel') syncAddTimings();
  });
  $('#room-close').addEventListener('click', () => { stopRoom(); selectTab('mine'); });
  bookPicker = new SlotPicker($('#book-picker'), api, { onPick: pickSlot, announce, ownVisits });
  waitlist = new Waitlist(api, { announce, plain, claims: () => state.claims, showMine: () => selectTab('mine'),
    confirmation: (made) => confirmation(made, made.time, [], []) });
  $('#chosen').after(el('p', { id: 'hold-status', class: 'hint', role: 'timer', hidden: true }));
  $('#type-field').addEventListener('change', () => { if (hold.current && state.slot) holdSlot(state.slot); });
  window.addEventListener('pagehide', () => releaseHold({ leaving: true }));

  let token = session.get();
  if (!token && state.config.signIn.mode === 'cognito') token = await cognitoCallback().catch(() => null);
  if (token && signedIn(token)) afterSignIn();
  else showSignIn();
}

function afterSignIn() {
  selectTab('book', false);
  searchDoctors();
  $('#main').focus();
  syncLanguage();
  const room = JSON.parse(sessionStorage.getItem(ROOM_KEY) || 'null');
  sessionStorage.removeItem(ROOM_KEY);
  if (room) openRoomLink(room);
  waitlist.openLink();
}

// --- a room link (`/rooms/<roomId>?token=...`, from a reminder or the visit's telehealthUrl) ---------------------
const ROOM_KEY = 'clinic.room';

function rememberRoomLink() {
  // kept across sign-in, so the link opens its room once the patient is signed in
  const match = location.pathname.match(/^\/rooms\/([A-Za-z0-9_-]+)$/);
  if (!match) return;
  const token = new URLSearchParams(location.search).get('token');
  sessionStorage.setItem(ROOM_KEY, JSON.stringify({ roomId: match[1], token }));
  history.replaceState(null, '', '/');
}

async function openRoomLink({ roomId, token }) {
  if (token) {
    openRoom(roomId, token);
    return;
  }
  // the visit's own link carries no token: the room's link is made for the signed-in patient
  try {
    const today = localDate(patientZone());
    const { appointments } = await api.json('GET',
      `/api/appointments/patient/${state.claims.sub}?from=${addDays(today, -1)}&to=${addDays(today, 90)}`, { retries: 1 });
    const visit = appointments.find((a) => a.roomId === roomId);
    if (visit) {
      await joinRoom(visit);
      return;
    }
    announce(t('room.notYours'));
  } catch (err) {
    announce(plain(err));
  }
}

start();
