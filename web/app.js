// The patient web app: sign in, then Book / My appointments / Reminders, and the telehealth room.
import { ApiError, claimsOf, createApi, newKey } from './api.js';
import { SlotPicker, addDays, clockTime, localDate, longDate, patientZone, weekday, zonesDiffer } from './slots.js';
import { adviceFor, joinOpensAt, requirementsCheck } from './telehealth.js';

const $ = (selector, root = document) => root.querySelector(selector);
const TOKEN_KEY = 'clinic.token';
const state = { config: null, token: null, claims: null, doctors: [], doctor: null, slot: null, bookingKey: null,
  bookingBody: null, appointments: [], reminderTimer: null, roomTimer: null };
const api = createApi(() => (state.config && state.config.apiBase) || '', () => state.token, () => {
  // the token has expired or was revoked: sign in again rather than show errors
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  showSignIn();
  $('#signin-message').textContent = 'Your session has ended. Please sign in again.';
});

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function announce(text) {
  const region = $('#announce');
  region.textContent = '';
  setTimeout(() => { region.textContent = text; }, 50);
}

function plain(error) {
  return error instanceof ApiError ? error.message : 'Something went wrong. Please try again.';
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
  sessionStorage.setItem(TOKEN_KEY, token);
  $('#signin').hidden = true;
  $('#app').hidden = false;
  $('#sign-out').hidden = false;
  $('#who').textContent = `Signed in as ${claims.name || claims['cognito:username'] || 'patient'}`;
  return true;
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  location.assign('/');
}

// --- tabs -----------------------------------------------------------------------------------------------------
const TABS = ['book', 'mine', 'reminders'];

function selectTab(name, focus = true) {
  for (const tab of TABS) {
    const button = $(`#tab-${tab}`);
    const selected = tab === name;
    button.setAttribute('aria-selected', String(selected));
    button.tabIndex = selected ? 0 : -1;
    $(`#panel-${tab}`).hidden = !selected;
  }
  $('#room').hidden = true;
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
  status.textContent = 'Searching…';
  state.search = (state.search || 0) + 1;
  const mine = state.search;
  try {
    const { doctors } = await api.json('GET', `/api/doctors?${query}`, { retries: 1 });
    if (mine !== state.search) return; // a later search has been asked for: its answer wins
    state.doctors = doctors;
    const list = $('#doctors');
    list.replaceChildren(...doctors.map(doctorCard));
    status.textContent = doctors.length ? `${doctors.length} doctor${doctors.length > 1 ? 's' : ''} found.`
      : 'No doctor matches. Try fewer words.';
    for (const doctor of doctors) {
      nextFreeDay(doctor).then((day) => {
        const slot = $(`[data-next="${doctor.id}"]`);
        if (!slot) return;
        slot.textContent = day ? `Next free day: ${longDate(day)}` : 'No free day in the coming weeks.';
        slot.dataset.day = day || '';
      }).catch(() => {});
    }
  } catch (err) {
    if (mine === state.search) status.textContent = plain(err);
  }
}

function doctorCard(doctor) {
  return el('li', { class: 'card', 'data-doctor': doctor.id },
    el('h3', { text: doctor.name }),
    el('p', { text: `${doctor.specialty} · ${doctor.location}` }),
    el('p', { class: 'hint', text: `${doctor.telehealth ? 'In person or video' : 'In person only'} · ${doctor.timezone}` }),
    el('p', { 'data-next': doctor.id, text: 'Looking for the next free day…' }),
    el('button', { type: 'button', 'aria-label': `See times with ${doctor.name}`, text: 'See times',
      onclick: () => openDoctor(doctor) }));
}

let bookPicker = null;

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
  $('#chosen').textContent = `${doctor.name}, ${longDate(slot.date)} at ${slot.time}${mine}, ${slot.timezone}`;
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
  const target = { reason: 'reason', reminders: 'reminders', slot: 'slot', form: 'form' }[name] || 'form';
  $(`#err-${target}`).textContent = message;
  const input = { reason: '#reason', reminders: '#reminders-field', slot: '#chosen' }[target];
  if (input) $(input).setAttribute('aria-invalid', 'true');
  return input ? $(input) : $('#err-form');
}

function bookingBody() {
  const form = $('#book-form');
  const channels = [...form.querySelectorAll('input[name=channel]:checked')].map((c) => c.value);
  const timings = [...form.querySelectorAll('input[name=timing]:checked')].map((c) => c.value);
  const body = {
    doctorId: state.doctor.id, date: state.slot.date, time: state.slot.time,
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
  if (channels.length && !timings.length) problems.push(['reminders', 'Choose when to be reminded, or no channel.']);
  if (state.slot && new Date(state.slot.startsAt) <= new Date()) problems.push(['slot', 'This time has passed.']);
  return problems;
}

const SERVER_FIELDS = { reason: 'reason', reminderPreferences: 'reminders', date: 'slot', time: 'slot',
  duration: 'slot', type: 'form' };

function showServerError(error) {
  if (error.code === 'SLOT_UNAVAILABLE') {
    const input = fieldError('slot', 'Someone has just booked this time. Here are the next free ones:');
    const options = bookPicker.nextFree(3).filter((s) => s.time !== state.slot.time);
    $('#alternatives').replaceChildren(...options.map((s) => el('button', {
      type: 'button', text: s.time, 'aria-label': `Choose ${s.time} instead`,
      onclick: () => {
        const button = $(`#book-picker button[data-time="${s.time}"]`);
        if (button) button.click();
      },
    })));
    return input;
  }
  if (error.code === 'NO_RECIPIENT') return fieldError('reminders', error.message);
  if (['TOO_LATE_TO_CHANGE', 'OUTSIDE_BOOKING_WINDOW', 'OUTSIDE_WORKING_HOURS', 'DAILY_LIMIT_REACHED'].includes(error.code)) {
    return fieldError('slot', error.message);
  }
  const fields = Object.entries(error.fields);
  if (fields.length) {
    let first = null;
    for (const [name, message] of fields) {
      const key = SERVER_FIELDS[name.split('.')[0]] || 'form';
      const shown = fieldError(key, `${error.message} (${name} ${message})`);
      first = first || shown;
    }
    return first;
  }
  return fieldError('form', error.message);
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
    $('#book-form').reset();
    const done = $('#booked');
    done.replaceChildren(
      el('p', { text: `Booked: ${made.doctorName}, ${longDate(made.date)} at ${made.time} (${made.timezone}).` }),
      el('button', { type: 'button', text: 'See my appointments', onclick: () => selectTab('mine') }),
    );
    $('#book-section').hidden = false;
    announce('Your visit is booked.');
    done.focus();
  } catch (err) {
    if (err instanceof ApiError) showServerError(err).focus?.();
    else fieldError('form', plain(err));
  } finally {
    button.disabled = false;
    button.textContent = 'Book this visit';
  }
}

// --- my appointments ------------------------------------------------------------------------------------------
function when(appointment) {
  const mine = zonesDiffer(appointment.timezone) ? ` (${clockTime(appointment.startsAt, patientZone())} your time)` : '';
  return `${longDate(appointment.date)} at ${appointment.time}${mine}, ${appointment.timezone}`;
}

const ACTIVE = new Set(['scheduled', 'confirmed', 'rescheduled']);

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
    el('p', {}, 'Status: ', el('span', { class: `status status-${a.status}`, 'data-status': '', text: a.status })));
  const actions = el('div', { class: 'actions' });
  if (active && a.canReschedule) {
    actions.append(
      el('button', { type: 'button', text: 'Reschedule', 'aria-label': `Reschedule the visit on ${a.date} at ${a.time}`,
        onclick: () => reschedule(a, card) }),
      el('button', { type: 'button', text: 'Cancel', 'aria-label': `Cancel the visit on ${a.date} at ${a.time}`,
        onclick: () => confirmCancel(a, card) }));
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
    el('p', { text: 'Cancel this visit? Its reminders are cancelled too.' }),
    el('button', { type: 'button', text: 'Yes, cancel it', onclick: () => cancel(a, card) }),
    el('button', { type: 'button', text: 'Keep it', onclick: () => { extra.replaceChildren(); } }));
  extra.querySelector('button').focus();
}

async function cancel(a, card) {
  try {
    const done = await api.json('DELETE', `/api/appointments/${a.id}`, { retries: 1 });
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
  const doctor = await api.json('GET', `/api/doctors/${a.doctorId}`, { retries: 1 });
  const holder = el('div', { class: 'reschedule' });
  const message = el('p', { class: 'message', role: 'status' });
  extra.replaceChildren(el('h4', { text: 'Choose a new time', tabindex: '-1' }), holder, message,
    el('button', { type: 'button', text: 'Keep the current time', onclick: () => { picker.close(); extra.replaceChildren(); } }));
  const picker = new SlotPicker(holder, api, {
    announce,
    onPick: async (slot) => {
      message.textContent = `Moving to ${slot.time}…`;
      try {
        const moved = await api.json('PUT', `/api/appointments/${a.id}/reschedule`, {
          body: { date: slot.date, time: slot.time }, retries: 1,
        });
        picker.close();
        const fresh = appointmentCard(moved);
        card.replaceWith(fresh);
        announce(`Moved to ${longDate(moved.date)} at ${moved.time}.`);
        fresh.tabIndex = -1;
        fresh.focus();
      } catch (err) {
        message.textContent = plain(err);
      }
    },
  });
  card.picker = picker;
  await picker.open(doctor, a.date);
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

async function loadReminderVisits() {
  const select = $('#reminder-visit');
  const today = localDate(patientZone());
  try {
    const { appointments } = await api.json('GET',
      `/api/appointments/patient/${state.claims.sub}?from=${addDays(today, -1)}&to=${addDays(today, 90)}`, { retries: 1 });
    const active = appointments.filter((a) => new Date(a.endsAt) > Date.now());
    const wanted = select.dataset.wanted || select.value;
    select.replaceChildren(...active.map((a) => el('option', { value: a.id,
      text: `${a.doctorName}, ${a.date} ${a.time}${ACTIVE.has(a.status) ? '' : ` (${a.status})`}` })));
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
  list.replaceChildren(...reminders.map(reminderCard));
  for (const r of reminders) {
    if (before.has(r.id) && before.get(r.id) !== r.status) {
      announce(`${CHANNEL_WORDS[r.type]} reminder ${TIMING_WORDS[r.timing] || ''} is now ${r.status}.`);
    }
  }
  if (focusedId) {
    const again = list.querySelector(`[data-reminder="${focusedId}"] [data-role="${focusedRole}"]`)
      || list.querySelector(`[data-reminder="${focusedId}"]`);
    if (again) again.focus();
  }
  $('#reminders-status').textContent = reminders.length ? '' : 'No reminders are planned for this visit.';
}

function reminderCard(r) {
  const at = new Date(r.scheduledTime);
  const item = el('li', { class: 'card', 'data-reminder': r.id, 'data-state': r.status, tabindex: '-1' },
    el('h3', { text: `${CHANNEL_WORDS[r.type]} ${TIMING_WORDS[r.timing] || ''}`.trim() }),
    el('p', { text: `Planned for ${at.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}` }),
    el('p', {}, 'Status: ', el('span', { class: `status status-${r.status}`, text: r.status })));
  if (r.status === 'pending') {
    const id = `timing-${r.id}`;
    const select = el('select', { id, 'data-role': 'timing' },
      ...Object.entries(TIMING_WORDS).map(([value, words]) => el('option', { value, text: words })));
    if (r.timing in TIMING_WORDS) select.value = r.timing;
    item.append(el('div', { class: 'actions' },
      el('label', { for: id, text: 'Change to' }), select,
      el('button', { type: 'button', 'data-role': 'change', text: 'Change', onclick: () => changeReminder(r, select.value) }),
      el('button', { type: 'button', 'data-role': 'cancel', text: 'Cancel reminder', onclick: () => cancelReminder(r) })));
  }
  if (r.lastError && r.status === 'failed') item.append(el('p', { class: 'hint', text: 'It could not be delivered.' }));
  return item;
}

async function changeReminder(r, timing) {
  try {
    await api.json('PUT', `/api/reminders/${r.id}`, { body: { timing }, retries: 1 });
    announce('The reminder is changed.');
  } catch (err) {
    $('#reminders-status').textContent = plain(err);
  }
  await refreshReminders();
}

async function cancelReminder(r) {
  try {
    await api.json('DELETE', `/api/reminders/${r.id}`, { retries: 1 });
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
  try {
    await api.json('POST', '/api/reminders/schedule', {
      body: { appointmentId: $('#reminder-visit').value, email: channels.includes('email'),
        sms: channels.includes('sms'), push: channels.includes('push'), timings: [$('#add-timing').value] },
    });
    $('#add-reminder').reset();
    announce('The reminder is added.');
  } catch (err) {
    error.textContent = plain(err);
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
  $('#room-close').addEventListener('click', () => { stopRoom(); selectTab('mine'); });
  bookPicker = new SlotPicker($('#book-picker'), api, { onPick: pickSlot, announce });

  let token = sessionStorage.getItem(TOKEN_KEY);
  if (!token && state.config.signIn.mode === 'cognito') token = await cognitoCallback().catch(() => null);
  if (token && signedIn(token)) afterSignIn();
  else showSignIn();
}

function afterSignIn() {
  selectTab('book', false);
  searchDoctors();
  $('#main').focus();
}

start();
