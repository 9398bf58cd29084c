// The patient web app: sign in, then Book / My appointments / Reminders, and the telehealth room.
import { ApiError, claimsOf, createApi, newKey, tokenStore } from './shared/api.js';
import { addDays, clockTime, localDate, longDate, patientZone, weekday, zonesDiffer } from './shared/dates.js';
import { el } from './shared/dom.js';
import { ACTIVE, statusWords } from './shared/status.js';
import { SlotPicker } from './slots.js';
import { adviceFor, joinOpensAt, requirementsCheck } from './telehealth.js';

const $ = (selector, root = document) => root.querySelector(selector);
const session = tokenStore('clinic.token');
const state = { config: null, token: null, claims: null, doctors: [], doctor: null, slot: null, bookingKey: null,
  bookingBody: null, appointments: [], reminderTimer: null, roomTimer: null };
const api = createApi(() => (state.config && state.config.apiBase) || '', () => state.token, () => {
  // the token has expired or was revoked: sign in again rather than show errors
  session.clear();
  state.token = null;
  showSignIn();
  $('#signin-message').textContent = 'Your session has ended. Please sign in again.';
});

function announce(text) {
  const region = $('#announce');
  region.textContent = '';
  setTimeout(() => { region.textContent = text; }, 50);
}

// What the clinic's error codes mean to a patient: in the second person, saying what to do next. The server's own
// messages are written for every client (staff included) and are not shown here.
const CHANNEL_ADDRESS = { email: 'verified e-mail address', sms: 'verified mobile number',
  push: 'device registered for notifications' };
const CHANNEL_NAMES = { email: 'E-mail', sms: 'SMS', push: 'Push' };

function patientWords(error) {
  const wait = 'Wait a few seconds, then try again.';
  switch (error.code) {
    case 'NETWORK': return 'We could not reach the clinic. Check your connection, then try again.';
    case 'SLOT_UNAVAILABLE': return 'Someone has just booked this time. Choose another time.';
    case 'AMBIGUOUS_LOCAL_TIME':
      return 'This time happens twice that night because the clocks go back. Choose the first or the second one.';
    case 'BOOKING_LIMIT_REACHED':
      return /doctor/i.test(error.message || '')
        ? 'You already have a visit with this doctor on that day. Choose another day, or change that visit under '
          + 'My appointments.'
        : 'You already have as many upcoming visits as you can book online. Cancel one under My appointments, or '
          + 'call the clinic.';
    case 'DAILY_LIMIT_REACHED': return 'This doctor’s day is fully booked. Choose another day.';
    case 'OUTSIDE_BOOKING_WINDOW': return 'You cannot book that far ahead yet. Choose an earlier day.';
    case 'OUTSIDE_WORKING_HOURS': return 'The doctor does not see patients at that time. Choose one of the times shown.';
    case 'TOO_LATE_TO_CHANGE': return 'It is too late to change this visit online. Please call the clinic.';
    case 'TELEHEALTH_NOT_OFFERED': return 'This doctor does not offer video visits. Choose an in-person visit.';
    case 'NO_RECIPIENT': {
      const channels = (error.details && error.details.channels) || [];
      const named = channels.map((c) => CHANNEL_NAMES[c] || c);
      const addresses = channels.map((c) => CHANNEL_ADDRESS[c] || 'verified address');
      return channels.length
        ? `You have no ${addresses.join(' or ')} for ${named.join(' and ')} reminders. Untick ${named.join(' and ')}, `
          + 'or add and verify it in your clinic account, then try again.'
        : 'You have no verified address for the reminders you chose. Untick them, or add and verify an address in '
          + 'your clinic account, then try again.';
    }
    case 'PUSH_NOT_CONFIGURED': return 'Push reminders are not available yet. Choose e-mail or SMS instead.';
    case 'INVALID_STATE':
      return 'This has changed since you opened it (it may already be done). Look at it again, then try again.';
    case 'CONFLICT': return 'This clashes with another of your visits or requests. Look at My appointments, then try again.';
    case 'NOT_FOUND': return 'We could not find this any more. Look at My appointments for how things stand now.';
    case 'FORBIDDEN': return 'You cannot do this from your account. Please call the clinic.';
    case 'UNAUTHENTICATED': return 'Your session has ended. Please sign in again.';
    case 'RATE_LIMITED': return `You have made many requests in a short time. ${wait}`;
    case 'SERVICE_UNAVAILABLE': return `The clinic’s system is busy right now. ${wait}`;
    case 'VALIDATION_ERROR': return 'Some details were not accepted. Check what you entered, then try again.';
    default:
      return error.status === 503 || error.status === 429 ? `The clinic’s system is busy right now. ${wait}`
        : 'Something went wrong on our side. Try again; if it happens again, please call the clinic.';
  }
}

function plain(error) {
  return error instanceof ApiError ? patientWords(error)
    : 'Something went wrong. Try again; if it happens again, please call the clinic.';
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
    $('#signin-message').textContent = 'That sign-in link did not come from this page. Please sign in again.';
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
    $('#signin-message').textContent = 'Sign-in could not be completed. Please sign in again.';
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
    $('#signin-message').textContent = 'Sign-in is not configured for this site. Please contact the clinic.';
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
  $('#who').textContent = `Signed in as ${claims.name || claims['cognito:username'] || 'patient'}`;
  return true;
}

function signOut() {
  session.clear();
  state.token = null;
  location.assign('/');
}

// --- tabs -----------------------------------------------------------------------------------------------------
const TABS = ['book', 'mine', 'reminders'];
const TAB_TITLES = { book: 'Book a visit', mine: 'My appointments', reminders: 'Reminders' };

function showTitle(title) {
  $('#page-title').textContent = title;
  document.title = `${title} · Clinic`;
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
  showTitle(TAB_TITLES[name]);
  if (focus) $(`#tab-${name}`).focus();
  stopReminderPolling();
  if (name === 'mine') loadAppointments();
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
  status.replaceChildren('Searching…');
  state.search = (state.search || 0) + 1;
  const mine = state.search;
  try {
    const { doctors } = await api.json('GET', `/api/doctors?${query}`, { retries: 1 });
    if (mine !== state.search) return; // a later search has been asked for: its answer wins
    state.doctors = doctors;
    const list = $('#doctors');
    list.replaceChildren(...doctors.map(doctorCard));
    status.replaceChildren(doctors.length ? `${doctors.length} doctor${doctors.length > 1 ? 's' : ''} found.`
      : 'No doctor matches. Try fewer words.');
    for (const doctor of doctors) showNextFreeDay(doctor);
  } catch (err) {
    if (mine !== state.search) return;
    $('#doctors').replaceChildren();
    status.replaceChildren(el('span', { class: 'error', text: plain(err) }), ' ',
      retryButton('Try again', () => searchDoctors()));
  }
}

function showNextFreeDay(doctor) {
  const line = $(`[data-next="${doctor.id}"]`);
  if (!line) return;
  line.replaceChildren('Looking for the next free day…');
  nextFreeDay(doctor).then((day) => {
    line.replaceChildren(day ? `Next free day: ${longDate(day)}` : 'No free day in the coming weeks.');
    line.dataset.day = day || '';
  }).catch((err) => {
    line.replaceChildren(el('span', { class: 'error', text: `We could not look up the free days. ${plain(err)}` }),
      ' ', retryButton('Look again', () => showNextFreeDay(doctor)));
  });
}

function doctorCard(doctor) {
  return el('li', { class: 'card', 'data-doctor': doctor.id },
    el('h3', { text: doctor.name }),
    el('p', { text: `${doctor.specialty} · ${doctor.location}` }),
    el('p', { class: 'hint', text: `${doctor.telehealth ? 'In person or video' : 'In person only'} · ${doctor.timezone}` }),
    el('p', { 'data-next': doctor.id, 'aria-live': 'polite', text: 'Looking for the next free day…' }),
    el('button', { type: 'button', 'aria-label': `See times with ${doctor.name}`, text: 'See times',
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
  state.doctor = doctor;
  state.slot = null;
  $('#book-section').hidden = true;
  $('#picker-section').hidden = false;
  $('#picker-h').textContent = `Choose a time with ${doctor.name}`;
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
  const mine = zonesDiffer(slot.timezone) ? ` (${clockTime(slot.startsAt, patientZone())} your time)` : '';
  $('#chosen').textContent = `${doctor.name}, ${longDate(slot.date)} at ${slot.label || slot.time}${mine}, `
    + `${slot.timezone}`;
  $('#book-form').hidden = false;
  $('#telehealth-option').hidden = !doctor.telehealth;
  if (!doctor.telehealth) $('input[name=type][value=in-person]').checked = true;
  const length = (doctor.availability && doctor.availability.appointmentDuration) || 30;
  $('#duration').replaceChildren(el('option', { value: String(length), text: `${length} minutes` }));
  clearErrors();
  $('#booked').textContent = '';
  $('#book-h').focus();
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
  if (!body.reason) problems.push(['reason', 'Please say briefly why you want to see the doctor.']);
  else if (body.reason.length > 500) problems.push(['reason', 'Please keep the reason under 500 characters.']);
  if (channels.length && !timings.length) problems.push(['reminders',
    'Choose when you want to be reminded, or untick the reminder channels.']);
  if (state.slot && new Date(state.slot.startsAt) <= new Date()) problems.push(['slot',
    'This time has passed. Choose a later time.']);
  return problems;
}

const SERVER_FIELDS = { reason: 'reason', reminderPreferences: 'reminders', date: 'slot', time: 'slot',
  duration: 'slot', type: 'form' };

function showServerError(error) {
  // Returns the message to focus: the patient hears what went wrong and what to do next.
  if (error.code === 'SLOT_UNAVAILABLE') {
    const options = bookPicker.nextFree(3).filter((s) => s.startsAt !== state.slot.startsAt);
    const message = errorMessage('slot', options.length
      ? 'Someone has just booked this time. Choose one of the next free times below, or another time above.'
      : 'Someone has just booked this time. Choose another day above.');
    $('#alternatives').replaceChildren(...options.map((s) => el('button', {
      type: 'button', text: s.label, 'aria-label': `Choose ${s.label} instead`,
      onclick: () => {
        const button = $(`#book-picker button[data-starts-at="${s.startsAt}"]`);
        if (button) button.click();
      },
    })));
    return message;
  }
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
      const shown = errorMessage(key, { reason: 'Check the reason you gave (at most 500 characters), then try again.',
        reminders: 'Check the reminders you chose, then try again.',
        slot: 'Choose a time from the list, then try again.' }[key] || patientWords(error));
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
  // One key per booking attempt: a retry of the same booking (same body) reuses it, so it never books twice.
  const bodyText = JSON.stringify(built.body);
  if (state.bookingBody !== bodyText) {
    state.bookingKey = newKey();
    state.bookingBody = bodyText;
  }
  const button = $('#book-button');
  button.disabled = true;
  button.textContent = 'Booking…';
  try {
    const made = await api.json('POST', '/api/appointments', {
      body: built.body, headers: { 'Idempotency-Key': state.bookingKey }, retries: 2,
    });
    state.bookingKey = null;
    state.bookingBody = null;
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
    announce('Your visit is booked.');
    done.focus();
  } catch (err) {
    const message = err instanceof ApiError ? showServerError(err) : errorMessage('form', plain(err));
    message.focus();
  } finally {
    button.disabled = false;
    button.textContent = 'Book this visit';
  }
}

function confirmation(made, label, channels, timings) {
  // What was booked, when (the doctor's time, and the patient's when it differs), where or how to join, the
  // reminders set, and the calendar file: all the patient needs without opening anything else.
  const zone = made.timezone;
  const yours = zonesDiffer(zone)
    ? `That is ${clockTime(made.startsAt, patientZone())} your time (${patientZone()}).` : null;
  const where = made.type === 'telehealth'
    ? 'By video: join from My appointments (the Join button opens 15 minutes before the visit).'
    : `In person at ${made.location}.`;
  const reminders = channels.flatMap((c) => timings.map((t) => `${CHANNEL_WORDS[c]}, ${TIMING_WORDS[t]}`));
  return [
    el('h3', { text: 'Your visit is booked' }),
    el('p', { text: `Booked: ${made.doctorName}, ${longDate(made.date)} at ${label} (${zone}).` }),
    el('dl', { class: 'summary' },
      el('dt', { text: 'What' }),
      el('dd', { text: `${made.type === 'telehealth' ? 'Video visit' : 'Visit'} with ${made.doctorName}`
        + `${made.specialty ? ` (${made.specialty})` : ''}, ${made.duration} minutes` }),
      el('dt', { text: 'When' }),
      el('dd', {}, `${longDate(made.date)} at ${label}, the doctor's time (${zone})`, yours ? el('br') : null, yours),
      el('dt', { text: 'Where' }),
      el('dd', { text: where }),
      el('dt', { text: 'Reminders' }),
      el('dd', {}, reminders.length ? el('ul', {}, ...reminders.map((r) => el('li', { text: r })))
        : 'None chosen. You can add some under Reminders.')),
    el('div', { class: 'actions' },
      el('button', { type: 'button', text: 'Add to calendar', onclick: () => downloadIcs(made) }),
      el('button', { type: 'button', text: 'See my appointments', onclick: () => selectTab('mine') })),
    el('p', { class: 'hint', text: 'To book another visit, choose another time above.' }),
  ];
}

// --- my appointments ------------------------------------------------------------------------------------------
function when(appointment) {
  const mine = zonesDiffer(appointment.timezone) ? ` (${clockTime(appointment.startsAt, patientZone())} your time)` : '';
  return `${longDate(appointment.date)} at ${appointment.time}${mine}, ${appointment.timezone}`;
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
    line.textContent = state.appointments.length ? `${state.appointments.length} appointment(s).`
      : 'No appointments to show.';
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
    el('p', { text: `${a.type === 'telehealth' ? 'Video visit' : `In person at ${a.location}`} · ${a.duration} minutes` }),
    el('p', {}, 'Status: ', el('span', { class: `status status-${a.status}`, 'data-status': a.status,
      text: statusWords(a.status) })));
  const actions = el('div', { class: 'actions' });
  if (active && a.canReschedule) {
    actions.append(
      el('button', { type: 'button', text: 'Reschedule', 'aria-label': `Reschedule the visit on ${a.date} at ${a.time}`,
        onclick: () => reschedule(a, card) }),
      el('button', { type: 'button', class: 'danger', text: 'Cancel',
        'aria-label': `Cancel the visit on ${a.date} at ${a.time}`, onclick: () => confirmCancel(a, card) }));
  } else if (active) {
    const minutes = state.config.changeWindowMinutes || 120;
    card.append(el('p', { class: 'hint', text: `Changes close ${minutes >= 60 ? `${minutes / 60} hours` : `${minutes} minutes`} `
      + 'before the visit. To change or cancel it now, please call the clinic.' }));
  }
  if (active) {
    actions.append(
      el('button', { type: 'button', text: 'Add to calendar', onclick: () => downloadIcs(a) }),
      el('button', { type: 'button', text: 'Reminders', onclick: () => { selectTab('reminders'); showReminders(a.id); } }));
    if (a.type === 'telehealth') {
      actions.append(el('button', { type: 'button', text: 'Check my device', onclick: () => deviceCheck(a, card) }));
      const opens = joinOpensAt(a);
      actions.append(el('button', { type: 'button', text: 'Join', 'aria-describedby': `join-${a.id}`,
        'aria-disabled': String(Date.now() < opens.getTime()),
        onclick: (e) => { if (e.currentTarget.getAttribute('aria-disabled') !== 'true') joinRoom(a); } }));
      card.append(el('p', { class: 'hint', id: `join-${a.id}`,
        text: `You can join from ${opens.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })} `
          + '(15 minutes before the visit).' }));
    }
  }
  card.append(actions, el('div', { class: 'card-extra' }));
  return card;
}

function confirmCancel(a, card) {
  const extra = $('.card-extra', card);
  extra.replaceChildren(
    el('p', { text: 'Cancel this visit? Its reminders are cancelled too. This cannot be undone.' }),
    el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'danger solid', text: 'Yes, cancel it', onclick: () => cancel(a, card) }),
      el('button', { type: 'button', text: 'Keep it', onclick: () => { extra.replaceChildren(); } })));
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
    announce(`The visit on ${done.date} at ${done.time} is cancelled.`);
    fresh.tabIndex = -1;
    fresh.focus();
  } catch (err) {
    $('.card-extra', card).replaceChildren(el('p', { class: 'error', role: 'alert', text: plain(err) }));
  }
}

async function reschedule(a, card) {
  const extra = $('.card-extra', card);
  extra.replaceChildren(el('p', { class: 'message', role: 'status', text: 'Loading the doctor’s times…' }));
  let doctor;
  try {
    doctor = await api.json('GET', `/api/doctors/${a.doctorId}`, { retries: 1 });
  } catch (err) {
    extra.replaceChildren(el('p', { class: 'error', role: 'alert', text: plain(err) }),
      retryButton('Try again', () => reschedule(a, card)));
    return;
  }
  const holder = el('div', { class: 'reschedule' });
  const message = el('p', { class: 'message', role: 'status', tabindex: '-1' });
  const confirm = el('div', { class: 'confirm-move' });
  extra.replaceChildren(el('h4', { text: 'Choose a new time', tabindex: '-1' }), holder, confirm, message,
    el('button', { type: 'button', text: 'Keep the current time', onclick: () => { picker.close(); extra.replaceChildren(); } }));
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
    message.textContent = `Moving your visit to ${slot.label}…`;
    try {
      const moved = await api.json('PUT', `/api/appointments/${a.id}/reschedule`, {
        body, headers: { 'Idempotency-Key': moveKey }, retries: 1,
      });
      picker.close();
      const fresh = appointmentCard(moved);
      card.replaceWith(fresh);
      announce(`Your visit is moved to ${longDate(moved.date)} at ${slot.label}.`);
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
        el('p', { text: `Move your visit from ${longDate(a.date)} at ${a.time} to ${longDate(slot.date)} at `
          + `${slot.label}?` }),
        el('div', { class: 'actions' },
          el('button', { type: 'button', text: 'Yes, move my visit', onclick: () => move(slot) }),
          el('button', { type: 'button', text: 'Choose another time', onclick: () => {
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
    announce('The calendar file could not be made. Please try again.');
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
const TIMING_WORDS = { '24h': '24 hours before', '2h': '2 hours before', '30m': '30 minutes before',
  '15m': '15 minutes before' };
const CHANNEL_WORDS = { email: 'E-mail', sms: 'SMS', push: 'Push' };
const LINK_TIMING = '10m';
const REMINDER_WORDS = { pending: 'Planned', sending: 'Sending', sent: 'Sent', failed: 'Not delivered',
  cancelled: 'Cancelled' };

function isLinkReminder(r) {
  // A video visit's link reminder (ten minutes before, carrying the link to join): not a timing to choose.
  return r.kind ? /link/i.test(r.kind) : r.timing === LINK_TIMING;
}

function holdsItsPlace(r) {
  // a reminder the clinic counts as there: to be sent, or sent (cancelled ones leave their timing free)
  return r.status !== 'cancelled';
}

function reminderWords(error) {
  return error instanceof ApiError && error.code === 'CONFLICT'
    ? 'You already have a reminder that way at that time. Choose another time.' : plain(error);
}

function reminderTitle(r) {
  if (isLinkReminder(r)) return `${CHANNEL_WORDS[r.type]} with your video link, 10 minutes before`;
  return `${CHANNEL_WORDS[r.type]} ${TIMING_WORDS[r.timing] || ''}`.trim();
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
      $('#reminders-status').textContent = 'You have no upcoming visits.';
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
      announce(`${reminderTitle(r)} is now ${(REMINDER_WORDS[r.status] || r.status).toLowerCase()}.`);
    }
  }
  if (focusedId) {
    const again = list.querySelector(`[data-reminder="${focusedId}"] [data-role="${focusedRole}"]`)
      || list.querySelector(`[data-reminder="${focusedId}"]`);
    if (again) again.focus();
  }
  $('#reminders-status').textContent = reminders.length ? '' : 'No reminders are planned for this visit.';
}

function reminderCard(r, all) {
  const at = new Date(r.scheduledTime);
  const item = el('li', { class: 'card', 'data-reminder': r.id, 'data-state': r.status, tabindex: '-1' },
    el('h3', { text: reminderTitle(r) }),
    el('p', { text: `Planned for ${at.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}` }),
    el('p', {}, 'Status: ', el('span', { class: `status status-${r.status}`, text: REMINDER_WORDS[r.status] || r.status })));
  if (r.status === 'pending') {
    const actions = el('div', { class: 'actions' });
    // Timings this channel already has are not offered: the clinic refuses a second identical reminder.
    const taken = new Set(all.filter((o) => o.id !== r.id && o.type === r.type && holdsItsPlace(o)
      && !isLinkReminder(o)).map((o) => o.timing));
    const choices = Object.entries(TIMING_WORDS).filter(([value]) => value === r.timing || !taken.has(value));
    if (!isLinkReminder(r) && choices.length > 1) {
      const id = `timing-${r.id}`;
      const select = el('select', { id, 'data-role': 'timing' },
        ...choices.map(([value, words]) => el('option', { value, text: words })));
      if (r.timing in TIMING_WORDS) select.value = r.timing;
      actions.append(el('label', { for: id, text: 'Change to' }), select,
        el('button', { type: 'button', 'data-role': 'change', text: 'Change', onclick: () => changeReminder(r, select.value) }));
    }
    actions.append(el('button', { type: 'button', class: 'danger', 'data-role': 'cancel', text: 'Cancel reminder',
      onclick: () => cancelReminder(r) }));
    item.append(actions);
  }
  if (r.lastError && r.status === 'failed') item.append(el('p', { class: 'hint', text: 'It could not be delivered.' }));
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
    $('#reminders-status').textContent = 'Choose a different time first.';
    return;
  }
  const what = `PUT ${r.id} ${timing}`;
  try {
    await api.json('PUT', `/api/reminders/${r.id}`, { body: { timing },
      headers: { 'Idempotency-Key': keyFor(what) }, retries: 1 });
    writeKeys.delete(what);
    $('#reminders-status').textContent = '';
    announce('The reminder is changed.');
  } catch (err) {
    $('#reminders-status').textContent = reminderWords(err);
  }
  await refreshReminders();
}

async function cancelReminder(r) {
  const what = `DELETE ${r.id}`;
  try {
    await api.json('DELETE', `/api/reminders/${r.id}`, { headers: { 'Idempotency-Key': keyFor(what) }, retries: 1 });
    writeKeys.delete(what);
    announce('The reminder is cancelled.');
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
    error.textContent = 'Choose at least one way to be reminded.';
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
    announce('The reminder is added.');
  } catch (err) {
    error.textContent = reminderWords(err);
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
async function deviceCheck(a, card) {
  const extra = $('.card-extra', card);
  const status = el('p', { class: 'message', role: 'status', tabindex: '-1', text: 'Checking your camera, microphone and connection…' });
  extra.replaceChildren(status);
  try {
    const doctor = await api.json('GET', `/api/doctors/${a.doctorId}`, { retries: 1 });
    const result = await requirementsCheck(api, doctor.telehealthPlatform || 'custom');
    if (result.pass) {
      status.textContent = 'Your device is ready for the video visit.';
    } else {
      status.textContent = 'Some things need your attention before the visit:';
      extra.append(el('ul', { class: 'failures' }, ...result.failures.map((f) => el('li', {},
        el('strong', { text: f }), ' ', el('span', { text: adviceFor(f) })))));
      if (result.denied) {
        extra.append(el('p', { class: 'hint', text: 'You blocked the camera or microphone for this page. Open the site '
          + 'settings (the icon left of the address), allow both, then check again.' }));
      }
    }
    extra.append(el('button', { type: 'button', text: 'Check again', onclick: () => deviceCheck(a, card) }));
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
  showTitle('Video visit');
  $('#room-h').focus();
  const poll = async () => {
    try {
      const room = await api.json('GET', `/api/telehealth/room/${roomId}?token=${encodeURIComponent(token)}`,
        { keepSession: true }); // a 401 here is about the room link, not the sign-in
      const status = $('#room-status');
      const join = $('#room-join');
      if (room.status === 'ended') {
        status.textContent = 'The visit has ended.';
        join.replaceChildren();
        stopRoom();
      } else if (room.join) {
        if (status.dataset.state !== 'joined') announce('The doctor has admitted you.');
        status.dataset.state = 'joined';
        status.textContent = 'The doctor has admitted you. You are in the visit.';
        const raw = room.join.joinUrl || room.join.url;
        const url = /^https?:\/\//.test(raw || '') ? raw : null;
        join.replaceChildren(url ? el('a', { href: url, target: '_blank', rel: 'noopener', class: 'button',
          text: 'Open the video call' }) : el('p', { text: 'Your video call is ready.' }));
      } else {
        status.dataset.state = 'waiting';
        status.textContent = 'You are in the waiting room. The doctor will admit you.';
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

// --- start ----------------------------------------------------------------------------------------------------
async function start() {
  rememberRoomLink();
  applySettings();
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

  let token = session.get();
  if (!token && state.config.signIn.mode === 'cognito') token = await cognitoCallback().catch(() => null);
  if (token && signedIn(token)) afterSignIn();
  else showSignIn();
}

function afterSignIn() {
  selectTab('book', false);
  searchDoctors();
  $('#main').focus();
  const room = JSON.parse(sessionStorage.getItem(ROOM_KEY) || 'null');
  sessionStorage.removeItem(ROOM_KEY);
  if (room) openRoomLink(room);
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
    announce('That video visit is not one of your upcoming visits. Look at My appointments.');
  } catch (err) {
    announce(plain(err));
  }
}

start();
