// The clinic console: the day per doctor (kept live from the slot-updates WebSocket, patched row by row so focus
// and scroll stay put), a week per doctor, actions from a row, reminders, analytics, availability, and webhook
// subscriptions with their delivery logs.
// A file of its own (no inline script or handlers) so the page works under a Content-Security-Policy.
import { ApiError, claimsOf, createApi, hasExpired, newKey, tokenStore } from "./shared/api.js";
import { WEEKDAYS, addDays, atLocal, clockTime as clock, hhmm, localDate as dateIn, minutes, passOf, shortDate as dayLabel,
  weekday as weekdayOf } from "./shared/dates.js";
import { el, say, svg } from "./shared/dom.js";
import { LiveSlots } from "./shared/live.js";
import { ACTIVE } from "./shared/status.js";
import { createCalendars } from "./console_calendars.js";
import { createWaitlist } from "./console_waitlist.js";

const $ = (id) => document.getElementById(id);
const session = tokenStore("token");
const state = {doctors: [], doctorById: new Map(), appointments: new Map(), patients: new Map(), claims: null,
  dayTouched: false, selected: new Set(), reminders: new Map(), dayView: "list", analyticsTouched: false};
const calendars = createCalendars({api, ask, doctors: () => state.doctors}); // the Calendars view
const waitlistView = createWaitlist({api, doctors: () => state.doctors, today: () => clinicToday()}); // Waitlist

// ---------------------------------------------------------------- dates and times (each doctor's own zone)
function clinicToday() {
  // one zone for the whole clinic: its date; doctors in several zones: the browser's own date
  const zones = new Set(state.doctors.map((d) => d.timezone));
  return dateIn(zones.size === 1 ? [...zones][0] : undefined);
}
function hoursAndDays(hours) {
  if (hours === null || hours === undefined) return "no bookings yet";
  const whole = Math.round(hours);
  const days = Math.floor(whole / 24);
  return days ? `${days} d ${whole % 24} h` : `${whole} h`;
}

// ---------------------------------------------------------------- the token, the API and errors in plain words
function tokenProblem(token) {
  if (!token) return "Paste the admin token first.";
  if (/[^\x21-\x7e]/.test(token)) {
    return "That token has spaces or characters a sign-in token never has. Copy the whole token again.";
  }
  if (token.split(".").length !== 3) {
    return "That is not a sign-in token: a token has three parts separated by dots. Copy the whole token again.";
  }
  const claims = claimsOf(token);
  if (!claims) return "That token cannot be read: it is damaged or incomplete. Copy the whole token again.";
  if (hasExpired(claims)) return "That token has expired. Sign in again to get a new one.";
  if (!String(claims["cognito:groups"] ?? "").includes("admins")) {
    return "That token is not a clinic admin's: the console needs an admin's sign-in.";
  }
  return null;
}

const PLAIN = {
  UNAUTHENTICATED: "Your sign-in was not accepted (the token is malformed or has expired). Sign in again.",
  FORBIDDEN: "Your sign-in may not do that: the console needs a clinic admin's token.",
  SLOT_UNAVAILABLE: "That time was taken a moment ago. Pick another free time.",
  DAILY_LIMIT_REACHED: "The doctor's day is full: the daily limit of patients is reached.",
  OUTSIDE_WORKING_HOURS: "That time is outside the doctor's working hours.",
  TOO_LATE_TO_CHANGE: "It is too late to change this visit.",
  OUTSIDE_BOOKING_WINDOW: "That date is further ahead than the doctor takes bookings.",
  BOOKING_LIMIT_REACHED: "This patient already holds as many upcoming visits as the clinic allows.",
};
function plainWords(status, error, retryAfter) {
  const wait = retryAfter ? `${retryAfter} seconds` : "a few seconds";
  if (status === 429) return `Too many requests just now. Try again in ${wait}.`;
  if (status === 503) return `A service the clinic depends on is briefly unavailable. Try again in ${wait}.`;
  if (PLAIN[error.code]) return PLAIN[error.code];
  if (error.code === "VALIDATION_ERROR") {
    const fields = Object.entries((error.details && error.details.fields) || {}).map(([k, v]) => `${k}: ${v}`);
    return `${error.message || "Some values are not valid."}${fields.length ? ` (${fields.join("; ")})` : ""}`;
  }
  if (status >= 500) return "Something went wrong on the server. Reload to see what was saved; if it repeats, tell IT.";
  return error.message || `The server refused the request (${status}).`;
}

const client = createApi("", session.get, () => signOut(plainWords(401, {code: "UNAUTHENTICATED"})));

async function api(method, path, body, headers = {}) {
  // the shared client; its refusals reach staff in the console's own words
  try {
    return await client.json(method, path, {body, headers});
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    error.message = error.status === 0 ? "The server could not be reached. Check the connection and try again."
      : plainWords(error.status, {code: error.code, message: error.message, details: error.details}, error.retryAfter);
    throw error;
  }
}

async function listAll(path, query) {
  // follows `nextToken` so a long day is never cut at one page
  const found = [];
  const q = new URLSearchParams(query);
  for (let page = 0; page < 20; page += 1) {
    const answer = await api("GET", `${path}?${q}`);
    found.push(...answer.appointments);
    if (!answer.nextToken) break;
    q.set("nextToken", answer.nextToken);
  }
  return found;
}

// ---------------------------------------------------------------- sign-in and sign-out
function showSignedIn(signedIn) {
  for (const section of document.querySelectorAll("[data-needs-signin]")) section.hidden = !signedIn;
  $("signin").hidden = signedIn;
  $("sign-out").hidden = !signedIn;
  $("signed-in-as").textContent = signedIn && state.claims ?
    `Signed in as ${state.claims.name || state.claims["cognito:username"] || state.claims.sub}.` : "";
}

async function signIn(token) {
  const problem = tokenProblem(token);
  if (problem) { say($("signin-status"), problem, true); $("token").focus(); return; }
  session.set(token);
  state.claims = claimsOf(token);
  try {
    await loadDoctors();
  } catch (error) {
    if (session.get()) signOut(error.message);
    return;
  }
  const hadFocus = $("signin").contains(document.activeElement);
  showSignedIn(true);
  say($("signin-status"), "");
  if (hadFocus) $("schedule-title").focus(); // the form it was in is gone: keyboard users land on the day
  if (!state.dayTouched) $("day").value = clinicToday();
  await Promise.all([refreshDay(), refreshWeek(), loadReminders(), loadAnalytics(), loadWebhooks(), calendars.load(),
    waitlistView.load()]);
  live.connect();
}

function signOut(message = "") {
  session.clear();
  state.claims = null;
  live.close();
  for (const id of ["schedule-body", "week-body", "reminders-body", "analytics-body", "availability-preview-body",
    "webhooks-body"]) {
    $(id).textContent = "";
    delete $(id).dataset.sig;
  }
  closeWebhookLog(false);
  calendars.clear();
  waitlistView.clear();
  webhooks.written.clear();
  webhooks.fresh.clear();
  state.appointments.clear();
  state.patients.clear();
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
  showSignedIn(false);
  $("token").value = "";
  say($("signin-status"), message || "Signed out.", Boolean(message));
  $("token").focus();
}

// ---------------------------------------------------------------- doctors
async function loadDoctors() {
  state.doctors = (await api("GET", "/api/doctors")).doctors;
  state.doctorById = new Map(state.doctors.map((d) => [d.id, d]));
  const options = () => state.doctors.map((d) => el("option", {value: d.id, text: d.name}));
  for (const id of ["week-doctor", "availability-doctor", "book-doctor"]) {
    const keep = $(id).value;
    $(id).replaceChildren(...options());
    if (keep && state.doctorById.has(keep)) $(id).value = keep;
  }
  const keep = $("doctor").value;
  $("doctor").replaceChildren(el("option", {value: "", text: "All doctors"}), ...options());
  if (keep && state.doctorById.has(keep)) $("doctor").value = keep;
  calendars.doctors(state.doctors);
  waitlistView.doctors(state.doctors);
  fillAvailabilityForm();
}

// ---------------------------------------------------------------- the day: tables patched row by row
function shownDoctors() {
  return $("doctor").value ? state.doctors.filter((d) => d.id === $("doctor").value) : state.doctors;
}

let dayLoading = null;
async function refreshDay() {
  // one load at a time; a change arriving meanwhile loads once more afterwards
  if (dayLoading) { dayLoading.again = true; return dayLoading.promise; }
  dayLoading = {again: false};
  dayLoading.promise = (async () => {
    try {
      do { dayLoading.again = false; await loadDay(); } while (dayLoading.again);
    } catch (error) {
      say($("action-status"), error.message, true);
    } finally { dayLoading = null; }
  })();
  return dayLoading.promise;
}

async function loadDay() {
  const day = $("day").value;
  if (!day || !session.get()) return;
  const query = new URLSearchParams({from: day, to: day});
  if ($("status").value) query.set("status", $("status").value);
  if ($("type").value) query.set("type", $("type").value);
  const chosen = shownDoctors();
  const lists = await Promise.all(chosen.map((d) =>
    listAll(`/api/appointments/doctor/${encodeURIComponent(d.id)}`, query)));
  const body = $("schedule-body");
  const wanted = new Set(chosen.map((d) => d.id));
  for (const box of [...body.querySelectorAll(".doctor-day")]) if (!wanted.has(box.dataset.doctor)) box.remove();
  chosen.forEach((doctor, index) => {
    let box = body.querySelector(`.doctor-day[data-doctor="${CSS.escape(doctor.id)}"]`);
    if (!box) box = doctorBox(doctor);
    if (body.children[index] !== box) body.insertBefore(box, body.children[index] || null);
    box.dataset.day = day;
    patchRows(box, lists[index], doctor);
  });
  if (state.dayView === "grid") await drawDayGrid(day, chosen, lists);
  live.follow();
}

// ---------------------------------------------------------------- the day as a time grid: a column per doctor
function showDayAs(view) {
  state.dayView = view;
  $("day-as-list").setAttribute("aria-pressed", String(view === "list"));
  $("day-as-grid").setAttribute("aria-pressed", String(view === "grid"));
  $("schedule-body").hidden = view !== "list";
  $("schedule-grid").hidden = view !== "grid";
  refreshDay();
}

async function drawDayGrid(day, chosen, lists) {
  // rows: every time any shown doctor offers that day (each doctor's local time), and every visit's start;
  // cells: the visit there (its patient), a free time (a button that books it), or nothing bookable
  const found = await Promise.all(chosen.map((d) =>
    api("GET", `/api/appointments/availability/${encodeURIComponent(d.id)}/${day}`)));
  const active = lists.map((list) => list.filter((a) => ACTIVE.has(a.status)));
  const times = [...new Set([...found.flatMap((f) => f.slots.map((x) => x.time)), ...active.flat().map((a) => a.time)])]
    .sort();
  const signature = JSON.stringify([day, chosen.map((d) => d.id), found.map((f) => f.slots),
    active.map((list) => list.map((a) => [a.id, a.time, a.duration, a.patientName, a.patientLanguage, a.type]))]);
  const grid = $("schedule-grid");
  if (grid.dataset.sig === signature) return;
  const focusKey = grid.contains(document.activeElement) ? document.activeElement.dataset.key : null;
  const cell = (doctor, index, time) => {
    const t = minutes(time);
    const holder = active[index].find((a) => minutes(a.time) <= t && t < minutes(a.time) + a.duration);
    if (holder && holder.time === time) {
      return el("td", {class: "booked", "data-appointment": holder.id},
        el("span", {}, ...withSpeaks(holder.patientName, holder.patientLanguage)), el("br"),
        el("span", {class: "small", text: `${holder.time}–${clock(holder.endsAt, doctor.timezone)}${
          holder.type === "telehealth" ? ", video" : ""}`}));
    }
    if (holder) return el("td", {class: "booked continued", text: `${holder.patientName} (continued)`});
    const slot = found[index].slots.find((x) => x.time === time);
    if (!slot) return el("td", {class: "off"});
    if (!slot.available) return el("td", {class: "closed", text: "not bookable"});
    const label = `${time}${passOf(slot, found[index].slots)}`;
    return el("td", {class: "free"}, el("button", {type: "button", class: "slot-button", "data-action": "book-at",
      "data-doctor": doctor.id, "data-date": day, "data-starts-at": slot.startsAt, "data-key": `grid:${slot.startsAt}`,
      "aria-label": `free ${label}: book with ${doctor.name}`, text: "free"}));
  };
  grid.replaceChildren(el("div", {class: "grid-scroll", tabindex: "0", role: "region",
    "aria-label": `The day as a time grid, ${dayLabel(day)}`},
  el("table", {class: "day-grid"},
    el("caption", {text: `${dayLabel(day)}: each doctor's visits and free times (each in the doctor's own time)`}),
    el("thead", {}, el("tr", {}, el("th", {scope: "col", text: "Time"}),
      ...chosen.map((d) => el("th", {scope: "col", text: d.name})))),
    el("tbody", {}, ...times.map((time) => el("tr", {"data-time": time}, el("th", {scope: "row", text: time}),
      ...chosen.map((d, i) => cell(d, i, time))))))));
  grid.dataset.sig = signature;
  const again = focusKey && grid.querySelector(`[data-key="${CSS.escape(focusKey)}"]`);
  if (again) again.focus({preventScroll: true});
}

// ---------------------------------------------------------------- narrow screens: one section at a time
const SECTIONS = ["schedule", "week", "reminders", "analytics", "availability", "calendars", "waitlist", "webhooks"];
function showSection(id, focus) {
  // on a phone the sections are tabs of a menu (CSS shows the current one only); wide screens show them all
  const current = SECTIONS.includes(id) ? id : "schedule";
  for (const name of SECTIONS) {
    if (name === current) $(name).dataset.current = ""; else delete $(name).dataset.current;
  }
  for (const link of document.querySelectorAll("nav a[href^='#']")) {
    if (link.getAttribute("href") === `#${current}`) link.setAttribute("aria-current", "true");
    else link.removeAttribute("aria-current");
  }
  if (focus && !$(current).hidden) {
    const heading = $(current).querySelector("h2");
    heading.tabIndex = -1;
    heading.focus();
  }
}

function doctorBox(doctor) {
  const zone = doctor.timezone.replace(/_/g, " ");
  return el("div", {class: "doctor-day", "data-doctor": doctor.id, tabindex: "-1"},
    el("table", {class: "cards"},
      el("caption", {}, doctor.name, el("br"),
        el("span", {class: "muted", text: `${doctor.specialty}, ${doctor.location} (${zone})`})),
      el("thead", {}, el("tr", {}, ...["Time", "Patient", "Type", "Status", "Actions"].map((name) =>
        el("th", {scope: "col", text: name})))),
      el("tbody")),
    el("p", {}, el("button", {type: "button", class: "secondary", "data-action": "book", "data-doctor": doctor.id,
      "data-key": `book:${doctor.id}`, text: `Book with ${doctor.name}`})));
}

const started = (a) => Date.parse(a.startsAt) <= Date.now();

function actionsFor(a) {
  const actions = [];
  if (ACTIVE.has(a.status)) {
    if (a.status !== "confirmed") actions.push(["confirm", "Confirm"]);
    actions.push(["reschedule", "Reschedule"], ["cancel", "Cancel"]);
    if (started(a)) actions.push(["completed", "Completed"], ["no-show", "No-show"]);
  }
  actions.push(["book-again", "Book again"], ["audit", "Audit trail"]);
  return actions;
}

function rowFor(a, doctor, signature) {
  const who = `${a.patientName} at ${a.time}`;
  const buttons = actionsFor(a).map(([action, label]) => el("button", {type: "button", "data-action": action,
    "data-id": a.id, "data-key": `${a.id}:${action}`, class: action === "confirm" ? false : "secondary",
    "aria-label": `${label}: ${who}`, text: label}));
  return el("tr", {"data-appointment": a.id, "data-sig": signature},
    el("td", {"data-label": "Time", text: `${a.time}–${clock(a.endsAt, doctor.timezone)}`}),
    el("td", {"data-label": "Patient"}, ...withSpeaks(a.patientName, a.patientLanguage)),
    el("td", {"data-label": "Type", text: a.type}),
    el("td", {"data-label": "Status", class: `status-${a.status}`, text: a.status}),
    el("td", {"data-label": "Actions"}, el("div", {class: "row-actions"}, ...buttons)));
}

function patchRows(box, rows, doctor) {
  const tbody = box.querySelector("tbody");
  const focusKey = tbody.contains(document.activeElement) ? document.activeElement.dataset.key : null;
  const focusRow = focusKey ? document.activeElement.closest("tr") : null;
  const existing = new Map([...tbody.querySelectorAll("tr[data-appointment]")].map((tr) => [tr.dataset.appointment, tr]));
  let previous = null;
  for (const a of rows) {
    state.appointments.set(a.id, a);
    state.patients.set(a.patientId, a.patientName);
    const signature = JSON.stringify([a.time, a.endsAt, a.patientName, a.patientLanguage, a.type, a.status,
      actionsFor(a)]);
    let tr = existing.get(a.id);
    existing.delete(a.id);
    if (!tr || tr.dataset.sig !== signature) {
      const fresh = rowFor(a, doctor, signature);
      if (tr) tr.replaceWith(fresh);
      tr = fresh;
    }
    const place = previous ? previous.nextElementSibling : tbody.firstElementChild;
    if (place !== tr) tbody.insertBefore(tr, place);
    previous = tr;
  }
  for (const tr of existing.values()) tr.remove();
  const empty = tbody.querySelector("tr.empty");
  if (!rows.length && !empty) {
    tbody.append(el("tr", {class: "empty"}, el("td", {colspan: "5", text: "No appointments."})));
  } else if (rows.length && empty) {
    empty.remove();
  }
  if (focusKey && document.activeElement !== document.querySelector(`[data-key="${CSS.escape(focusKey)}"]`)) {
    const again = document.querySelector(`[data-key="${CSS.escape(focusKey)}"]`) ||
      (focusRow && tbody.querySelector(`tr[data-appointment="${CSS.escape(focusRow.dataset.appointment)}"] button`)) ||
      box;
    again.focus({preventScroll: true});
  }
}

// ---------------------------------------------------------------- the week per doctor
function weekStart() {
  const day = $("day").value || clinicToday();
  return addDays(day, -WEEKDAYS.indexOf(weekdayOf(day)) + 7 * weekOffset);
}
let weekOffset = 0;

let weekRun = 0;
async function refreshWeek() {
  const doctor = state.doctorById.get($("week-doctor").value);
  if (!doctor || !session.get()) return;
  const run = ++weekRun; // only the latest load draws: an older answer arriving late never overwrites it
  const first = weekStart();
  const days = [...Array(7).keys()].map((i) => addDays(first, i));
  try {
    const [listed, ...slots] = await Promise.all([
      listAll(`/api/appointments/doctor/${encodeURIComponent(doctor.id)}`, {from: first, to: days[6]}),
      ...days.map((d) => api("GET", `/api/appointments/availability/${encodeURIComponent(doctor.id)}/${d}`)),
    ]);
    if (run !== weekRun) return;
    for (const a of listed) state.patients.set(a.patientId, a.patientName);
    const active = listed.filter((a) => ACTIVE.has(a.status));
    // redrawn only when what it shows changed: a resync with nothing new leaves focus and scroll alone
    const signature = JSON.stringify([doctor.id, doctor.name, doctor.timezone, first, slots.map((d) => d.slots),
      active.map((a) => [a.id, a.date, a.time, a.duration, a.patientName, a.patientLanguage])]);
    const body = $("week-body");
    if (body.dataset.sig === signature) return;
    const focusKey = body.contains(document.activeElement) ? document.activeElement.dataset.key : null;
    body.replaceChildren(
      el("h3", {id: "week-caption",
        text: `${doctor.name}: week of ${dayLabel(first)} (${doctor.timezone.replace(/_/g, " ")})`}),
      el("div", {class: "week-grid", "data-doctor": doctor.id, "data-first": first},
        ...days.map((d, i) => weekDay(doctor, d, slots[i].slots, active.filter((a) => a.date === d)))));
    body.dataset.sig = signature;
    const again = focusKey && body.querySelector(`[data-key="${CSS.escape(focusKey)}"]`);
    if (again) again.focus({preventScroll: true});
  } catch (error) {
    say($("week-body"), error.message, true);
  }
  live.follow();
}

function weekDay(doctor, day, slots, appointments) {
  // each slot once: a visit (the patient's name), a free time (a button that books it), or a time not bookable
  const items = [];
  let free = 0;
  const covered = new Set();
  const bookedItem = (a) => [a.time,
    el("li", {class: "booked"}, ...withSpeaks(`${a.time} ${a.patientName}`, a.patientLanguage))];
  for (const slot of slots) {
    const start = minutes(slot.time);
    const holder = appointments.find((a) => minutes(a.time) < start + 1 && minutes(a.time) + a.duration > start);
    if (holder) {
      if (!covered.has(holder.id)) {
        covered.add(holder.id);
        items.push(bookedItem(holder));
      }
    } else if (slot.available) {
      free += 1;
      const label = `${slot.time}${passOf(slot, slots)}`;
      items.push([slot.time, el("li", {class: "free"}, el("button", {type: "button", class: "slot-button",
        "data-action": "book-at", "data-doctor": doctor.id, "data-date": day, "data-starts-at": slot.startsAt,
        "data-key": `book-at:${slot.startsAt}`, "aria-label": `${label} free: book on ${dayLabel(day)} with ${doctor.name}`,
        text: `${label} free`}))]);
    } else {
      items.push([slot.time, el("li", {class: "closed", text: `${slot.time} not bookable`})]);
    }
  }
  for (const a of appointments) if (!covered.has(a.id)) items.push(bookedItem(a));
  items.sort((x, y) => x[0].localeCompare(y[0]));
  const summary = slots.length || appointments.length ? `${appointments.length} booked, ${free} free` : "day off";
  return el("div", {class: "week-day", "data-day": day},
    el("h3", {}, dayLabel(day), el("br"), el("span", {class: "muted", text: summary})),
    el("ul", {}, ...items.map((x) => x[1])));
}

// ---------------------------------------------------------------- live updates over the WebSocket
const LIVE_WORDS = {live: "Live: changes appear as they happen.", down: "Live updates paused; reconnecting…",
  unavailable: "Live updates are not available here; the day refreshes every minute.", closed: "Not connected."};
const feed = new LiveSlots(client, {onSlots: (message) => changed(message),
  onMode: (mode) => say($("live-status"), LIVE_WORDS[mode])});
const live = {
  // the shared slot feed, following what the console shows: the open dialog's day, the day, the week
  wanted() {
    const keys = [];
    const dialogKey = openPickerKey();
    if (dialogKey) keys.push(dialogKey);
    const day = $("day").value;
    if (day) for (const d of shownDoctors()) keys.push(`${d.id}|${day}`);
    const grid = document.querySelector(".week-grid");
    if (grid) for (let i = 0; i < 7; i += 1) keys.push(`${grid.dataset.doctor}|${addDays(grid.dataset.first, i)}`);
    return keys;
  },
  follow() { feed.follow(this.wanted()); },
  connect() { feed.follow(this.wanted()); feed.connect(); },
  close() { feed.close(); },
};

let pending = null;
const changedDays = [];
function changed(message) {
  updatePicker(message);
  // a burst of messages (a booking touches one doctor-day, a move two) loads each view once
  changedDays.push(message);
  clearTimeout(pending);
  pending = setTimeout(() => {
    const burst = changedDays.splice(0);
    const grid = document.querySelector(".week-grid");
    const inDay = (m) => m.date === $("day").value && shownDoctors().some((d) => d.id === m.doctorId);
    const inWeek = (m) => grid && grid.dataset.doctor === m.doctorId && m.date >= grid.dataset.first &&
      m.date <= addDays(grid.dataset.first, 6);
    if (burst.some(inDay)) refreshDay();
    if (burst.some(inWeek)) refreshWeek();
  }, 200);
}

// ---------------------------------------------------------------- dialogs: confirm, book, reschedule, audit
let answering = null; // the open question's `resolve`

function answerWhenClosed() {
  // A question's answer is read when the dialog closes, seen as its `open` attribute going (a mutation, handled
  // before the next task), not from its `close` event: that event is a task of its own and Chromium runs input
  // first, so a question asked again at once (Escape, then Enter on the same button, on a busy machine) got the
  // first one's `close`, and the answer given next reached nobody.
  const dialog = $("confirm-dialog");
  new MutationObserver(() => {
    if (dialog.open || !answering) return;
    const answer = answering;
    answering = null;
    answer(dialog.returnValue === "ok");
  }).observe(dialog, {attributes: true, attributeFilter: ["open"]});
}

function ask(text, okLabel, destructive = false) {
  // `destructive`: the confirming button is marked as the dangerous one; the answer comes as the dialog closes
  // (`answerWhenClosed`)
  const dialog = $("confirm-dialog");
  if (answering) answering(false); // a question closed in the same task as this one opens: it was not confirmed
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = okLabel;
  $("confirm-ok").classList.toggle("danger", destructive);
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => { answering = resolve; });
}

function describe(a) {
  const doctor = state.doctorById.get(a.doctorId);
  return `${a.patientName} with ${a.doctorName}, ${dayLabel(a.date)} at ${a.time} (${
    (doctor ? doctor.timezone : a.timezone || "").replace(/_/g, " ")})`;
}

function openPickerKey() {
  if ($("book-dialog").open && $("book-doctor").value && $("book-date").value) {
    return `${$("book-doctor").value}|${$("book-date").value}`;
  }
  const a = state.appointments.get($("reschedule-dialog").dataset.id || "");
  if ($("reschedule-dialog").open && a && $("reschedule-date").value) return `${a.doctorId}|${$("reschedule-date").value}`;
  return null;
}

function fillSlots(select, slots, errorBox) {
  // options are keyed by the slot's instant (`startsAt`): in a fall-back hour two slots share one local time
  const kept = select.selectedOptions[0];
  const keep = select.dataset.want || select.value;
  select.dataset.want = "";
  const keptLabel = kept ? kept.dataset.label : keep;
  const free = slots.filter((s) => s.available);
  select.replaceChildren(...(free.length ? free.map((s) => el("option", {value: s.startsAt, "data-time": s.time,
    "data-label": s.time + passOf(s, slots), text: `${s.time}–${s.endTime}${passOf(s, slots)}`}))
    : [el("option", {value: "", text: "No free time this day"})]));
  if (keep && free.some((s) => s.startsAt === keep)) select.value = keep;
  else if (keep && select.dataset.loaded === "yes") say(errorBox, `${keptLabel} was just taken. Pick another time.`, true);
  select.dataset.loaded = "yes";
}

function chosenSlot(select) {
  // what the booking and reschedule requests send: the local time and the instant it means
  const option = select.selectedOptions[0];
  return option && option.value ? {time: option.dataset.time, startsAt: option.value} : null;
}

let pickerRun = 0;
async function loadPicker(doctorId, day, select, errorBox) {
  select.dataset.loaded = "";
  // Only the latest load draws: a slow answer for the doctor or day chosen before never replaces the slots of
  // the one chosen now (its times would then be booked with the other doctor).
  const run = String(++pickerRun);
  select.dataset.run = run;
  if (!doctorId || !day) return;
  try {
    const found = await api("GET", `/api/appointments/availability/${encodeURIComponent(doctorId)}/${day}`);
    if (select.dataset.run !== run) return;
    fillSlots(select, found.slots, errorBox);
  } catch (error) {
    if (select.dataset.run !== run) return;
    select.replaceChildren(el("option", {value: "", text: "No free time this day"}));
    say(errorBox, error.message, true);
  }
  live.follow();
}

function updatePicker(message) {
  const key = `${message.doctorId}|${message.date}`;
  if (key !== openPickerKey()) return;
  if ($("book-dialog").open) fillSlots($("book-slot"), message.slots, $("book-error"));
  else fillSlots($("reschedule-slot"), message.slots, $("reschedule-error"));
}

// ---------------------------------------------------------------- finding the patient in the directory
const patientSearch = {run: 0, timer: null, query: "", next: null};
function clearPatients(message = "") {
  $("book-patient-options").replaceChildren();
  $("book-patient-results").hidden = true;
  $("book-patient-more").hidden = true;
  $("book-patient-status").textContent = message;
  patientSearch.next = null;
}
const LANGUAGE_NAMES = {en: "English", es: "Spanish"};
// Beside each visit: a patient who chose another language than the console's English, so the desk knows to call
// with an interpreter (`patientLanguage`, in staff's answers once the patient has chosen).
function speaksText(language) {
  return language && language !== "en" ? `Speaks ${LANGUAGE_NAMES[language] || language}` : "";
}
function withSpeaks(name, language) {
  const speaks = speaksText(language);
  return speaks ? [name, " ", el("span", {class: "speaks", text: speaks})] : [name];
}
// A patient's language, so the desk knows to call with an interpreter (the console itself stays English).
function patientOption(p) {
  const language = p.language ? `speaks ${LANGUAGE_NAMES[p.language] || p.language}` : null;
  const details = [p.email, p.phone, language].filter(Boolean).join(" · ");
  return el("label", {class: "patient-option"},
    el("input", {type: "radio", name: "book-patient-choice", value: p.id, "data-name": p.name || p.id}),
    ` ${p.name || p.id}`, details ? " " : null, details ? el("span", {text: `(${details})`}) : null);
}
async function searchPatients(more = false) {
  const query = $("book-patient").value.trim();
  if (!more) {
    patientSearch.query = query;
    if (query.length < 2) { clearPatients(query ? "Type at least 2 letters or digits." : ""); return; }
  }
  const run = ++patientSearch.run; // only the latest search draws: a slow answer never replaces a newer one
  const params = new URLSearchParams({query: patientSearch.query, limit: "10"});
  if (more && patientSearch.next) params.set("nextToken", patientSearch.next);
  $("book-patient-status").textContent = "Searching…";
  try {
    const found = await api("GET", `/api/admin/patients?${params}`);
    if (run !== patientSearch.run) return;
    const options = $("book-patient-options");
    if (!more) options.replaceChildren();
    options.append(...found.patients.map(patientOption));
    for (const p of found.patients) state.patients.set(p.id, p.name || p.id);
    patientSearch.next = found.nextToken || null;
    const shown = options.querySelectorAll("input").length;
    $("book-patient-results").hidden = shown === 0;
    $("book-patient-more").hidden = !patientSearch.next;
    $("book-patient-status").textContent = shown
      ? `${shown} patient(s) found${patientSearch.next ? "; more below" : ""}. Choose one.`
      : "No patient found. Patients appear here once they have signed in or booked.";
    if (shown === 1 && !more) options.querySelector("input").checked = true;
  } catch (error) {
    if (run === patientSearch.run) { clearPatients(); say($("book-patient-status"), error.message, true); }
  }
}
function onPatientTyping() {
  clearTimeout(patientSearch.timer);
  patientSearch.timer = setTimeout(() => searchPatients(), 250);
}

let bookingKey = null;
function openBook(doctorId, patient = null, at = null) {
  // `at`: a free time chosen in the week ({date, startsAt}); the dialog opens on it
  say($("book-error"), "");
  $("book-form").reset();
  clearPatients();
  patientSearch.run += 1; // a search still under way for the last booking draws nothing here
  if (patient) { // "Book again": the visit names its patient already; staff may still search for another
    $("book-patient-options").replaceChildren(patientOption(patient));
    $("book-patient-options").querySelector("input").checked = true;
    $("book-patient-results").hidden = false;
    $("book-patient-status").textContent = `Booking for ${patient.name}; search to choose another patient.`;
  }
  bookingKey = newKey();
  if (doctorId) $("book-doctor").value = doctorId;
  $("book-date").value = at ? at.date : $("day").value;
  $("book-slot").dataset.want = at ? at.startsAt : "";
  syncBookType();
  $("book-dialog").showModal();
  loadPicker($("book-doctor").value, $("book-date").value, $("book-slot"), $("book-error"));
}
function syncBookType() {
  const doctor = state.doctorById.get($("book-doctor").value);
  const tele = $("book-type").options[1];
  tele.disabled = !(doctor && doctor.telehealth);
  if (tele.disabled) $("book-type").value = "in-person";
}

function chosenPatient() {
  const picked = document.querySelector("input[name='book-patient-choice']:checked");
  return picked ? {patientId: picked.value, patientName: picked.dataset.name} : null;
}

async function submitBook(event) {
  event.preventDefault();
  const patient = chosenPatient();
  const problems = [];
  if (!patient) problems.push("Find the patient and choose one from the list.");
  if (!$("book-slot").value) problems.push("Pick a free time.");
  if (!$("book-reason").value.trim()) problems.push("Give a reason for the visit.");
  if (problems.length || !patient) { say($("book-error"), problems.join(" "), true); return; }
  const request = {doctorId: $("book-doctor").value, patientId: patient.patientId,
    patientName: patient.patientName, date: $("book-date").value, ...chosenSlot($("book-slot")),
    type: $("book-type").value, reason: $("book-reason").value.trim()};
  try {
    const made = await api("POST", "/api/appointments", request, {"Idempotency-Key": bookingKey});
    state.appointments.set(made.id, made);
    $("book-dialog").close();
    say($("action-status"), `Booked: ${describe(made)}.`);
    if (made.date !== $("day").value) { $("day").value = made.date; state.dayTouched = true; }
    await Promise.all([refreshDay(), refreshWeek()]);
    const first = document.querySelector(`tr[data-appointment="${CSS.escape(made.id)}"] button`);
    if (first) first.focus();
  } catch (error) {
    say($("book-error"), error.message, true);
  }
}

let rescheduleKey = null;
function openReschedule(a) {
  const dialog = $("reschedule-dialog");
  dialog.dataset.id = a.id;
  rescheduleKey = null;
  say($("reschedule-error"), "");
  const speaks = speaksText(a.patientLanguage);
  $("reschedule-what").textContent = `Now: ${describe(a)}.${speaks ? ` ${speaks}.` : ""}`;
  $("reschedule-date").value = a.date;
  $("reschedule-slot").replaceChildren();
  dialog.showModal();
  loadPicker(a.doctorId, a.date, $("reschedule-slot"), $("reschedule-error"));
}

async function submitReschedule(event) {
  event.preventDefault();
  const a = state.appointments.get($("reschedule-dialog").dataset.id);
  if (!$("reschedule-slot").value) { say($("reschedule-error"), "Pick a free time.", true); return; }
  const body = {date: $("reschedule-date").value, ...chosenSlot($("reschedule-slot"))};
  // one key per move asked for: pressing the button again after a lost answer repeats it, never moves twice
  if (!rescheduleKey || rescheduleKey.body !== JSON.stringify(body)) {
    rescheduleKey = {body: JSON.stringify(body), key: newKey()};
  }
  try {
    const moved = await api("PUT", `/api/appointments/${encodeURIComponent(a.id)}/reschedule`, body,
      {"Idempotency-Key": rescheduleKey.key});
    state.appointments.set(moved.id, moved);
    $("reschedule-dialog").close();
    say($("action-status"), `Rescheduled: ${describe(moved)}.`);
    await Promise.all([refreshDay(), refreshWeek()]);
    refocus(`${a.id}:reschedule`, a.id);
  } catch (error) {
    say($("reschedule-error"), error.message, true);
  }
}

function actorName(entry, a) {
  if (entry.actorId === a.patientId) return a.patientName;
  if (state.claims && entry.actorId === state.claims.sub) return state.claims.name || entry.actorId;
  return entry.actorId;
}
const ACTION_WORDS = {booked: "Booked", rescheduled: "Rescheduled", cancelled: "Cancelled", confirmed: "Confirmed",
  completed: "Marked completed", "no-show": "Marked no-show"};

async function openAudit(a) {
  const doctor = state.doctorById.get(a.doctorId);
  const zone = doctor ? doctor.timezone : "UTC";
  $("audit-title").textContent = `Audit trail: ${a.patientName}`;
  $("audit-what").textContent = `${describe(a)}. Times below are in ${zone.replace(/_/g, " ")}.`;
  $("audit-body").textContent = "Loading…";
  $("audit-dialog").showModal();
  try {
    const entries = (await api("GET", `/api/admin/appointments/${encodeURIComponent(a.id)}/audit`)).entries;
    $("audit-body").replaceChildren(el("ol", {}, ...entries.map((e) => {
      const moves = Object.entries(e.changes || {}).filter(([name]) => name !== "status")
        .map(([name, c]) => `${name} ${c.from} → ${c.to}`).join(", ");
      return el("li", {}, el("time", {datetime: e.at, text: atLocal(e.at, zone)}),
        `: ${ACTION_WORDS[e.action] || e.action} by ${actorName(e, a)} (${e.actorRole}); status ${
          e.statusBefore || "new"} → ${e.statusAfter}${moves ? `; ${moves}` : ""}`);
    })));
  } catch (error) {
    say($("audit-body"), error.message, true);
  }
}

function refocus(key, appointmentId) {
  const target = document.querySelector(`[data-key="${CSS.escape(key)}"]`) ||
    document.querySelector(`tr[data-appointment="${CSS.escape(appointmentId)}"] button`);
  if (target) target.focus();
}

async function rowAction(action, a) {
  const who = describe(a);
  const steps = {
    confirm: [null, {status: "confirmed"}, "Confirmed"],
    completed: [`Mark the visit of ${who} as completed? This cannot be undone.`, {status: "completed"},
      "Marked completed"],
    "no-show": [`Mark ${who} as a no-show? This cannot be undone.`, {status: "no-show"}, "Marked no-show"],
    cancel: [`Cancel the visit of ${who}? The time becomes free at once and no reminder is sent. This cannot be undone.`,
      null, "Cancelled"],
  }[action];
  const [question, body, done] = steps;
  if (question && !(await ask(question, action === "cancel" ? "Cancel the visit" : done.replace("Marked", "Mark")))) {
    refocus(`${a.id}:${action}`, a.id);
    return;
  }
  try {
    const after = action === "cancel" ?
      await api("DELETE", `/api/appointments/${encodeURIComponent(a.id)}`) :
      await api("PATCH", `/api/appointments/${encodeURIComponent(a.id)}/status`, body);
    state.appointments.set(after.id, after);
    say($("action-status"), `${done}: ${describe(after)}.`);
  } catch (error) {
    say($("action-status"), `${describe(a)}: ${error.message}`, true);
  }
  await Promise.all([refreshDay(), refreshWeek()]);
  refocus(`${a.id}:${action}`, a.id);
}

// ---------------------------------------------------------------- reminders
function reasonOf(r) {
  if (r.status !== "failed") return {text: "Pending.", unknown: false};
  const unknown = /outcome unknown/i.test(r.lastError || "");
  return unknown ?
    {text: "Outcome unknown: the provider may have delivered it. Retrying may send it twice.", unknown} :
    {text: `Refused by the provider: ${r.lastError || "no reason given"}`, unknown};
}

async function appointmentOf(id) {
  if (!state.appointments.has(id)) {
    try { state.appointments.set(id, await api("GET", `/api/appointments/${encodeURIComponent(id)}`)); } catch (e) {
      return null;
    }
  }
  return state.appointments.get(id);
}

async function loadReminders() {
  if (!session.get()) return;
  const query = new URLSearchParams({status: $("reminder-status").value});
  if ($("reminder-from").value) query.set("from", $("reminder-from").value);
  if ($("reminder-to").value) query.set("to", $("reminder-to").value);
  let found;
  try {
    found = (await api("GET", `/api/admin/reminders?${query}`)).reminders;
  } catch (error) {
    say($("reminders-status"), error.message, true);
    return;
  }
  const channel = $("reminder-channel").value;
  found = found.filter((r) => !channel || r.type === channel);
  state.reminders = new Map(found.map((r) => [r.id, r]));
  for (const id of [...state.selected]) if (!state.reminders.has(id)) state.selected.delete(id);
  const visits = await Promise.all(found.map((r) => appointmentOf(r.appointmentId)));
  const list = $("reminders-body");
  const focusKey = list.contains(document.activeElement) ? document.activeElement.dataset.key : null;
  const rows = found.map((r, i) => {
    const a = visits[i];
    const reason = reasonOf(r);
    const what = a ? describe(a) : `appointment ${r.appointmentId}`;
    const act = r.status === "failed" ? "retry" : "cancel";
    const timing = /^\d+[hm]$/.test(r.timing || "") ? ` (${r.timing} before)` : "";
    return {r, reason, what, act, text: `${r.type} reminder${timing}, due ${atLocal(r.scheduledTime)}, for ${what}`};
  });
  // redrawn only when what it shows changed: a resync with nothing new leaves focus and ticks alone
  const signature = JSON.stringify([$("reminder-status").value, channel, [...state.selected],
    rows.map((x) => [x.r.id, x.text, x.reason.text, x.act])]);
  if (list.dataset.sig !== signature) {
    const status = $("reminder-status").value;
    list.replaceChildren(rows.length ? el("ul", {class: "plain reminder-list"}, ...rows.map(({r, reason, what, act, text}) => {
      const verb = act === "retry" ? "Retry" : "Cancel reminder";
      return el("li", {"data-reminder": r.id, class: reason.unknown ? "warning" : false},
        el("label", {}, el("input", {type: "checkbox", "data-select": r.id, "data-key": `${r.id}:select`,
          checked: state.selected.has(r.id)}), " ", el("span", {text})),
        " ", el("span", {class: reason.unknown ? "error" : false, text: reason.text}), " ",
        el("button", {type: "button", class: act === "cancel" ? "secondary danger" : "secondary",
          "data-reminder-action": act, "data-id": r.id, "data-key": `${r.id}:${act}`,
          "aria-label": `${verb}: ${r.type} reminder for ${what}`, text: verb}));
    })) : el("p", {text: `No ${status} reminders${channel ? ` by ${channel}` : ""}.`}));
    list.dataset.sig = signature;
    const again = focusKey && list.querySelector(`[data-key="${CSS.escape(focusKey)}"]`);
    if (again) again.focus({preventScroll: true});
  }
  const failed = $("reminder-status").value === "failed";
  $("reminders-retry").hidden = !failed;
  $("reminders-cancel").hidden = failed;
}

const OUTCOME_WORDS = {pending: "queued to send again in a minute", cancelled: "cancelled",
  "not-failed": "was no longer failed", "not-pending": "was no longer pending",
  "appointment-not-ahead": "its visit is no longer ahead", "changed-meanwhile": "changed meanwhile; look again"};

async function reminderAction(action, ids) {
  if (!ids.length) { say($("reminders-status"), "Select at least one reminder first.", true); return; }
  const unknown = ids.filter((id) => state.reminders.get(id) && reasonOf(state.reminders.get(id)).unknown).length;
  if (action === "retry" && unknown) {
    const ok = await ask(`${unknown} of ${ids.length} selected reminder(s) may already have reached the patient ` +
      "(outcome unknown). Retrying may send them twice. Retry anyway?", "Retry anyway");
    if (!ok) return;
  }
  if (action === "cancel" && !(await ask(`Cancel ${ids.length} reminder(s)? They will not be sent. This cannot be undone.`,
    "Cancel reminders"))) return;
  try {
    const outcomes = (await api("POST", `/api/admin/reminders/${action}`, {reminderIds: ids})).outcomes;
    const counts = {};
    for (const outcome of Object.values(outcomes)) counts[outcome] = (counts[outcome] || 0) + 1;
    say($("reminders-status"), Object.entries(counts).map(([o, n]) => `${n} ${OUTCOME_WORDS[o] || o}`).join("; ") + ".");
    for (const id of ids) state.selected.delete(id);
  } catch (error) {
    say($("reminders-status"), error.message, true);
  }
  await loadReminders();
}

// ---------------------------------------------------------------- analytics as pictures, each with a table
function barChart(title, rows, series, unit, scaleMax = null) {
  // rows: [[label, {key: value}]]; series: [[key, name, cssClass]]; bars scale to scaleMax (e.g. 100 %) or the data.
  // Drawn at the width it is shown at, one unit a pixel, so its 13 px labels stay 13 px on a phone and a wide
  // screen gets long bars rather than big letters; the same figures follow in a table.
  const width = Math.max(240, $("analytics-body").clientWidth);
  const left = Math.min(170, Math.round(width * 0.36));
  const bar = 16;
  const band = series.length * bar + 12;
  const height = rows.length * band + 8;
  const max = scaleMax || Math.max(1, ...rows.flatMap(([, v]) => series.map(([k]) => v[k] || 0)));
  const shown = (v) => (v === null || v === undefined ? "no data" : `${v}${unit}`);
  const shapes = rows.flatMap(([label, values], i) => [
    svg("text", {x: 0, y: i * band + 16, text: label.length > 24 ? `${label.slice(0, 23)}…` : label}),
    ...series.flatMap(([k, , css], j) => {
      const w = Math.round((Math.min(values[k] || 0, max) / max) * (width - left - 70));
      const y = i * band + 4 + j * bar;
      return [svg("rect", {class: css, x: left, y, width: w, height: bar - 3}),
        svg("text", {x: left + 6 + w, y: y + bar - 4, text: shown(values[k])})];
    })]);
  const legend = series.length > 1 ? series.map(([, name, css]) => el("span", {class: "key"},
    svg("svg", {width: 12, height: 12, "aria-hidden": "true", focusable: "false"},
      svg("rect", {class: css, width: 12, height: 12})), ` ${name}`)) : [];
  const table = el("table", {class: "figures"},
    el("caption", {text: `${title}: the figures`}),
    el("thead", {}, el("tr", {}, el("th", {scope: "col", text: title.split(" per ")[1]?.split(" (")[0] || ""}),
      ...series.map(([, name]) => el("th", {scope: "col", text: name})))),
    el("tbody", {}, ...rows.map(([label, values]) => el("tr", {}, el("th", {scope: "row", text: label}),
      ...series.map(([k]) => el("td", {text: shown(values[k])}))))));
  return el("figure", {class: "chart"},
    el("figcaption", {}, el("strong", {text: title}), " ", ...legend),
    svg("svg", {class: "plot", width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-label": `${title}; the same figures are in the table below`}, ...shapes),
    table);
}

function analyticsRange() {
  // its own range; until staff set one, the 7 days up to the chosen day
  if (!state.analyticsTouched) {
    const to = $("day").value;
    if (to) { $("analytics-to").value = to; $("analytics-from").value = addDays(to, -6); }
  }
  return {from: $("analytics-from").value, to: $("analytics-to").value};
}

let analyticsRun = 0;
async function loadAnalytics() {
  const {from, to} = analyticsRange();
  if (!from || !to || !session.get()) return;
  if (to < from) { say($("analytics-status"), "The end of the range is before its start: pick the dates again.", true); return; }
  if (addDays(from, 91) < to) { say($("analytics-status"), "Pick at most 92 days.", true); return; }
  say($("analytics-status"), "");
  try {
    const run = ++analyticsRun; // only the latest range asked for draws: an earlier answer arriving late never does
    const report = await api("GET", `/api/admin/analytics?from=${from}&to=${to}`);
    if (run !== analyticsRun) return;
    state.analytics = {from, to, report};
    drawAnalytics();
  } catch (error) {
    say($("analytics-status"), error.message, true);
  }
}

function drawAnalytics() {
  // drawn at the width the charts get; a section not shown (a phone's other tab) is drawn once it shows
  if (!state.analytics) return;
  const {from, to, report} = state.analytics;
  const width = $("analytics-body").clientWidth;
  if (!width) return;
  const signature = JSON.stringify([report, width]);
  if ($("analytics-body").dataset.sig === signature) return;
  const pct = (x) => (x === null || x === undefined ? null : Math.round(x * 100));
  $("analytics-body").replaceChildren(
    el("p", {text: `${dayLabel(from)} to ${dayLabel(to)}. Average time from booking to visit: ${
      hoursAndDays(report.leadTime.averageHours)} (${report.leadTime.bookings} bookings).`}),
    barChart("Bookings, cancellations and no-shows per day", report.days.map((d) => [dayLabel(d.date), d]),
      [["bookings", "bookings", "bar-a"], ["cancellations", "cancellations", "bar-b"], ["noShows", "no-shows",
        "bar-c"]], ""),
    barChart("Utilization per doctor (booked share of working time)", report.doctors.map((d) =>
      [d.name, {u: pct(d.utilization)}]), [["u", "utilization", "bar-a"]], "%", 100),
    barChart("Reminder delivery rate per channel", Object.entries(report.reminders).map(([c, r]) =>
      [c, {rate: pct(r.deliveryRate)}]), [["rate", "delivered", "bar-a"]], "%", 100));
  $("analytics-body").dataset.sig = signature;
}

// ---------------------------------------------------------------- availability as a form, with a preview
function intervalNode(prefix, start, end, extra = null) {
  return el("div", {class: "interval", "data-interval": true}, extra,
    el("label", {}, "From ", el("input", {type: "time", step: "300", "data-start": true, value: start,
      "aria-label": `${prefix} from`})),
    el("label", {}, "To ", el("input", {type: "time", step: "300", "data-end": true, value: end,
      "aria-label": `${prefix} to`})),
    el("button", {type: "button", class: "secondary", "data-remove": true, "aria-label": `Remove ${prefix} ${start}–${end}`,
      text: "Remove"}));
}
const dayName = (day) => day[0].toUpperCase() + day.slice(1);
function dayHoursNode(day, intervals) {
  const name = dayName(day);
  return el("div", {class: "day-hours", "data-weekday": day}, el("span", {class: "day-name", text: name}),
    el("div", {"data-list": true}, ...intervals.map((w) => intervalNode(`${name} hours`, w.start, w.end))),
    el("button", {type: "button", class: "secondary", "data-add-hours": day, text: `Add hours on ${name}`}));
}
function breakNode(b) {
  const options = [el("option", {value: "", text: "every day"}),
    ...WEEKDAYS.map((d) => el("option", {value: d, selected: b.day === d, text: d}))];
  return intervalNode("break", b.start, b.end, el("label", {}, "Day ", el("select", {"data-break-day": true}, ...options)));
}
function holidayNode(day) {
  return el("li", {"data-holiday": day}, el("span", {text: `${dayLabel(day)} (${day})`}), " ",
    el("button", {type: "button", class: "secondary", "data-remove-holiday": true, "aria-label": `Remove holiday ${day}`,
      text: "Remove"}));
}

function fillAvailabilityForm() {
  const doctor = state.doctorById.get($("availability-doctor").value);
  const a = (doctor && doctor.availability) || {workingHours: {}, breaks: [], holidays: [],
    appointmentDuration: 30, maxPatientsPerDay: 20};
  $("hours").replaceChildren(...WEEKDAYS.map((d) => dayHoursNode(d, a.workingHours[d] || [])));
  $("breaks").replaceChildren(...(a.breaks || []).map(breakNode));
  $("holidays").replaceChildren(...[...(a.holidays || [])].sort().map(holidayNode));
  $("duration").value = a.appointmentDuration;
  $("durations").value = (a.durations || []).join(", ");
  $("daily-limit").value = a.maxPatientsPerDay;
  $("horizon").value = a.bookingHorizonDays || "";
  say($("availability-errors"), "");
  say($("availability-status"), "");
  $("availability-preview-body").textContent = "";
}

function readAvailability() {
  const problems = [];
  for (const el of $("availability-form").querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  const bad = (el, text) => { el.setAttribute("aria-invalid", "true"); problems.push([el, text]); };
  const pair = (row, what) => {
    const start = row.querySelector("[data-start]");
    const end = row.querySelector("[data-end]");
    for (const el of [start, end]) {
      if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(el.value)) bad(el, `${what}: give a time.`);
      else if (minutes(el.value) % 5) bad(el, `${what}: times are on 5-minute steps.`);
    }
    if (start.value && end.value && end.value <= start.value) bad(end, `${what}: the end must be after the start.`);
    return {start: start.value, end: end.value};
  };
  const workingHours = {};
  for (const row of $("hours").querySelectorAll("[data-weekday]")) {
    const day = row.dataset.weekday;
    const intervals = [...row.querySelectorAll("[data-interval]")].map((el) => pair(el, `${day} hours`));
    if (!intervals.length) continue;
    const ordered = [...intervals].sort((x, y) => x.start.localeCompare(y.start));
    for (let i = 1; i < ordered.length; i += 1) {
      if (ordered[i].start < ordered[i - 1].end) {
        bad(row.querySelectorAll("[data-start]")[intervals.indexOf(ordered[i])], `${day}: working hours overlap.`);
      }
    }
    if (intervals.length > 6) bad(row.querySelector("[data-start]"), `${day}: at most 6 intervals a day.`);
    workingHours[day] = intervals;
  }
  const breaks = [...$("breaks").querySelectorAll("[data-interval]")].map((el) => {
    const b = pair(el, "break");
    const day = el.querySelector("[data-break-day]").value;
    return day ? {day, ...b} : b;
  });
  const holidays = [...$("holidays").querySelectorAll("[data-holiday]")].map((li) => li.dataset.holiday);
  const duration = Number($("duration").value);
  if (!Number.isInteger(duration) || duration < 5 || duration > 120 || duration % 5) {
    bad($("duration"), "Visit length: 5 to 120 minutes, in 5-minute steps.");
  }
  const offeredText = $("durations").value.trim();
  const offered = offeredText ? offeredText.split(/[\s,]+/).filter(Boolean).map(Number) : [];
  if (offered.some((m) => !Number.isInteger(m) || m < 5 || m > 120 || m % 5)) {
    bad($("durations"), "Other visit lengths: 5 to 120 minutes each, in 5-minute steps, separated by commas.");
  }
  const limit = Number($("daily-limit").value);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) bad($("daily-limit"), "Daily limit: 1 to 500 patients.");
  const horizonText = $("horizon").value.trim();
  const horizon = horizonText ? Number(horizonText) : null;
  if ($("horizon").validity.badInput || (horizon !== null && (!Number.isInteger(horizon) || horizon < 1 ||
    horizon > 730))) {
    bad($("horizon"), "Booking horizon: 1 to 730 days ahead, or empty for the clinic's 180.");
  }
  if (!Object.keys(workingHours).length) bad($("hours").querySelector("button"), "Give working hours on at least one day.");
  const availability = {workingHours, breaks, holidays, appointmentDuration: duration, maxPatientsPerDay: limit};
  if (horizon !== null) availability.bookingHorizonDays = horizon;
  if (offered.length) availability.durations = [...new Set(offered)];
  return {availability, problems};
}

function showProblems(problems) {
  if (!problems.length) { say($("availability-errors"), ""); return true; }
  $("availability-errors").replaceChildren(el("p", {class: "error", text: `Please fix ${problems.length} thing(s):`}),
    el("ul", {}, ...problems.map(([, text]) => el("li", {class: "error", text}))));
  problems[0][0].focus();
  return false;
}

function previewSlots(a, day) {
  // the server's rule: working pieces with breaks cut out; slots step by the visit length from each piece's start
  if (a.holidays.includes(day)) return null;
  const weekday = weekdayOf(day);
  let pieces = (a.workingHours[weekday] || []).map((w) => [minutes(w.start), minutes(w.end)]);
  for (const b of a.breaks.filter((x) => !x.day || x.day === weekday)) {
    const [cs, ce] = [minutes(b.start), minutes(b.end)];
    pieces = pieces.flatMap(([s, e]) => (ce <= s || cs >= e ? [[s, e]] :
      [...(s < cs ? [[s, cs]] : []), ...(ce < e ? [[ce, e]] : [])]));
  }
  const slots = [];
  for (const [s, e] of pieces.sort((x, y) => x[0] - y[0])) {
    for (let t = s; t + a.appointmentDuration <= e; t += a.appointmentDuration) slots.push(hhmm(t));
  }
  return slots;
}

function preview() {
  const {availability, problems} = readAvailability();
  if (!showProblems(problems)) return null;
  const doctor = state.doctorById.get($("availability-doctor").value);
  const today = dateIn(doctor ? doctor.timezone : undefined);
  const first = addDays(today, 7 - WEEKDAYS.indexOf(weekdayOf(today))); // next week's Monday
  const horizon = availability.bookingHorizonDays || 180;
  const lastDay = addDays(today, horizon); // the server refuses a visit starting later than now + the horizon
  const rows = [...Array(7).keys()].map((i) => addDays(first, i)).map((day) => {
    const slots = previewSlots(availability, day);
    const text = day > lastDay ? "beyond the booking horizon: not bookable yet" : slots === null ? "holiday"
      : slots.length ? `${slots.length} slots: ${slots.join(", ")}` : "day off";
    return el("tr", {}, el("th", {scope: "row", text: dayLabel(day)}), el("td", {text}));
  });
  $("availability-preview-body").replaceChildren(el("table", {},
    el("caption", {text: `Preview (not saved yet): next week's slots, at most ${availability.maxPatientsPerDay} patients `
      + `a day, bookable up to ${horizon} days ahead (until ${dayLabel(lastDay)})`}),
    el("thead", {}, el("tr", {}, el("th", {scope: "col", text: "Day"}), el("th", {scope: "col", text: "Slots"}))),
    el("tbody", {}, ...rows)));
  return availability;
}

async function saveAvailability(event) {
  event.preventDefault();
  const availability = preview();
  if (!availability) return;
  const doctorId = $("availability-doctor").value;
  try {
    await api("PUT", `/api/admin/doctors/${encodeURIComponent(doctorId)}/availability`, availability);
    await loadDoctors();
    $("availability-doctor").value = doctorId;
    fillAvailabilityForm();
    say($("availability-status"), "Saved. New bookings follow these hours.");
    await Promise.all([refreshWeek(), loadAnalytics()]);
  } catch (error) {
    say($("availability-status"), error.message, true);
  }
}

// ---------------------------------------------------------------- webhooks: subscriptions and their delivery logs
const WEBHOOK_EVENTS = [
  ["appointment.booked", "a visit is booked"],
  ["appointment.rescheduled", "a visit moves to another time"],
  ["appointment.cancelled", "a visit is cancelled"],
  ["appointment.status_changed", "a visit is confirmed, completed or missed"],
  ["reminder.sent", "a reminder is sent"],
  ["reminder.failed", "a reminder cannot be sent"],
  ["telehealth.room_ready", "a video visit gets its room link"],
  ["waitlist.offered", "a waiting patient is offered a freed time"],
  ["waitlist.accepted", "a waitlist offer is accepted"],
  ["waitlist.declined", "a waitlist offer is declined"],
  ["waitlist.expired", "a waitlist offer lapses unanswered"],
  ["calendar.conflict", "a doctor's own calendar gets a busy time over a booked visit"],
];
const URL_ADVICE = {
  "points inside a private network": "That address is inside a private network, which the clinic never sends to " +
    "(it could reach systems that must not be reachable from outside). Give the receiving system's public https " +
    "address; its vendor or your IT team knows it.",
  "points at a link-local address (cloud metadata)": "That is a link-local address (like the cloud metadata " +
    "service at 169.254.169.254), which is never allowed. Give the receiving system's public https address.",
  "points at this machine (loopback)": "That address points at the clinic's own server (loopback), which a " +
    "deployed clinic never sends to. Give the receiving system's public https address.",
  "must be an https URL": "The address must begin with https (an encrypted connection): webhooks are sent " +
    "over nothing else.",
  "must be an https URL (http only for loopback in local runs)": "The address must begin with https (an " +
    "encrypted connection): webhooks are sent over nothing else (plain http only to this machine, in a local run).",
  "must name a host": "The address names no host. Write it in full: https, then the host name and path.",
  "must not carry credentials": "Take the user name and password (user:password@) out of the address: the " +
    "signature is how the receiver knows a request comes from the clinic.",
  "must not carry a fragment": "Take the part from # on out of the address.",
  "has an invalid port": "The port number in the address is not valid (it must be 1 to 65535).",
};
const DELIVERY_WORDS = {pending: "Waiting to be sent", delivered: "Delivered", failing: "Failing, retrying",
  given_up: "Given up"};
const PAUSE_WORDS = {admin: "Paused by an admin: events wait, unsent, until it is resumed.",
  failing: "Paused after 3 days of failures: events wait, unsent. Fix the receiver, then resume.",
  gone: "Paused: the receiver answered 410 Gone (it asked to stop). Resume once it takes events again."};
const webhooks = {list: [], byId: new Map(), log: null, logRun: 0, editing: null, written: new Map(), fresh: new Set(),
  gone: new Set()};

function remember(w, how = "changed") {
  // what this console wrote wins over an older listing: the list is read from an index that may lag a moment
  // behind a write (a new subscription missing, a paused one still active, a deleted one still there)
  if (how === "deleted") { webhooks.gone.add(w.id); webhooks.written.delete(w.id); return; }
  const {secret, ...kept} = w; // never kept: the secret is shown once and forgotten
  webhooks.written.set(w.id, kept);
  if (how === "created") webhooks.fresh.add(w.id);
}

function merged(listed) {
  const out = listed.filter((w) => !webhooks.gone.has(w.id)).map((w) => {
    const mine = webhooks.written.get(w.id);
    webhooks.fresh.delete(w.id);
    return mine && mine.updatedAt > w.updatedAt ? mine : w;
  });
  for (const id of webhooks.fresh) out.push(webhooks.written.get(id));
  return out;
}

function webhookError(error) {
  // a refusal of the form in plain words, with the field it is about
  const fields = (error && error.fields) || {};
  if (fields.url) {
    const problem = String(fields.url);
    return {field: "webhook-url", text: URL_ADVICE[problem] ||
      `The address was refused (${problem.replace(/^Value error, /, "")}). Check it and try again.`};
  }
  if (fields.events) return {field: "webhook-event-options", text: "Choose at least one event to send."};
  if (fields.description) return {field: "webhook-description", text: "The description is too long (200 at most)."};
  if (error && error.details && error.details.limit) {
    return {field: null, text: `The clinic may have at most ${error.details.limit} subscriptions. Delete one ` +
      "that is no longer used first."};
  }
  return {field: null, text: error.message};
}

function stateWords(w) {
  if (w.state === "paused") return PAUSE_WORDS[w.pausedReason] || "Paused: events wait, unsent.";
  if (w.failingSince) return `Active, but failing since ${atLocal(w.failingSince)}: retrying.`;
  return "Active";
}

function eventCode(type) {
  // an event type, free to wrap after each dot or underscore on a narrow screen (never inside a word)
  return el("code", {}, ...type.split(/(?<=[._])/).flatMap((part, i) => (i ? [el("wbr"), part] : [part])));
}

function webhookName(w) {
  return w.description ? `${w.description} (${w.url})` : w.url;
}

async function loadWebhooks() {
  if (!session.get()) return;
  try {
    webhooks.list = merged((await api("GET", "/api/admin/webhooks")).webhooks);
  } catch (error) {
    say($("webhooks-status"), error.message, true);
    return;
  }
  webhooks.byId = new Map(webhooks.list.map((w) => [w.id, w]));
  const body = $("webhooks-body");
  const rows = webhooks.list.map((w) => {
    const doctor = w.doctorId ? state.doctorById.get(w.doctorId) : null;
    const only = [w.doctorId ? `Only ${doctor ? doctor.name : w.doctorId}'s visits.` : "",
      w.location ? `Only visits at ${w.location}.` : ""].filter(Boolean).join(" ") || null;
    return [w, only];
  });
  // redrawn only when what it shows changed: a refresh with nothing new leaves focus alone
  const signature = JSON.stringify(rows.map(([w, only]) => [w.id, w.url, w.description, w.events, w.state,
    w.pausedReason, w.failingSince, w.includeReason, only]));
  if (body.dataset.sig === signature) return;
  const focusKey = body.contains(document.activeElement) ? document.activeElement.dataset.key : null;
  body.replaceChildren(rows.length ? el("table", {class: "cards webhooks"},
    el("caption", {text: `Subscriptions (${rows.length} of at most 50)`}),
    el("thead", {}, el("tr", {}, ...["Receiver URL", "Description", "Events", "State", "Actions"].map((name) =>
      el("th", {scope: "col", text: name})))),
    el("tbody", {}, ...rows.map(([w, only]) => {
      const name = webhookName(w);
      const button = (action, label, extra = {}) => el("button", {type: "button", class: "secondary",
        "data-webhook-action": action, "data-id": w.id, "data-key": `${w.id}:${action}`,
        "aria-label": `${label}: ${name}`, text: label, ...extra});
      return el("tr", {"data-webhook": w.id},
        el("td", {"data-label": "URL", class: "url", text: w.url}),
        el("td", {"data-label": "Description", text: w.description || "—"}),
        el("td", {"data-label": "Events"}, el("div", {}, el("ul", {class: "plain"}, ...w.events.map((e) =>
          el("li", {}, eventCode(e)))), only ? el("span", {class: "muted", text: only}) : null,
        w.includeReason ? el("span", {class: "muted", text: " With the visit's reason and notes."}) : null)),
        el("td", {"data-label": "State", class: w.state === "paused" ? "paused" : false, text: stateWords(w)}),
        el("td", {"data-label": "Actions"}, el("div", {class: "row-actions"},
          button("log", "Delivery log"),
          button("edit", "Edit"),
          w.state === "paused" ? button("resume", "Resume") : button("pause", "Pause"),
          button("rotate", "Rotate secret"),
          button("delete", "Delete", {class: "danger"}))));
    }))) : el("p", {text: "No subscriptions yet. Add one to send the clinic's changes to another system."}));
  body.dataset.sig = signature;
  const again = focusKey && body.querySelector(`[data-key="${CSS.escape(focusKey)}"]`);
  if (again) again.focus({preventScroll: true});
  if (webhooks.log && !webhooks.byId.has(webhooks.log)) closeWebhookLog();
}

function openWebhookForm(w = null) {
  // a new subscription, or (given `w`) a change to one: its URL, events, description, doctor, reason opt-in
  webhooks.editing = w ? w.id : null;
  $("webhook-form").reset();
  say($("webhook-error"), "");
  for (const node of $("webhook-form").querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  $("webhook-event-options").replaceChildren(...WEBHOOK_EVENTS.map(([type, words]) =>
    el("label", {class: "check"}, el("input", {type: "checkbox", name: "webhook-event", value: type}), " ",
      el("span", {}, el("code", {text: type}), `: ${words}`))));
  $("webhook-doctor").replaceChildren(el("option", {value: "", text: "All doctors"}),
    ...state.doctors.map((d) => el("option", {value: d.id, text: d.name})));
  const places = [...new Set(state.doctors.map((d) => d.location).filter(Boolean))].sort();
  if (w && w.location && !places.includes(w.location)) places.push(w.location);
  $("webhook-location").replaceChildren(el("option", {value: "", text: "All locations"}),
    ...places.map((place) => el("option", {value: place, text: place})));
  $("webhook-dialog-title").textContent = w ? "Change the subscription" : "Add a webhook subscription";
  $("webhook-save").textContent = w ? "Save the changes" : "Add the subscription";
  if (w) {
    $("webhook-url").value = w.url;
    for (const box of document.querySelectorAll("input[name='webhook-event']")) box.checked = w.events.includes(box.value);
    $("webhook-description").value = w.description || "";
    if (w.doctorId && !state.doctorById.has(w.doctorId)) {
      $("webhook-doctor").append(el("option", {value: w.doctorId, text: w.doctorId}));
    }
    $("webhook-doctor").value = w.doctorId || "";
    $("webhook-location").value = w.location || "";
    $("webhook-reason").checked = Boolean(w.includeReason);
  }
  $("webhook-dialog").showModal();
  $("webhook-url").focus();
}

async function submitWebhook(event) {
  event.preventDefault();
  for (const node of $("webhook-form").querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  const url = $("webhook-url").value.trim();
  const events = [...document.querySelectorAll("input[name='webhook-event']:checked")].map((x) => x.value);
  const refuse = ({field, text}) => {
    say($("webhook-error"), text, true);
    if (field) {
      // a field is marked; a group of checkboxes gets focus on its first one (the alert says what is missing)
      const target = $(field).matches("input") ? $(field) : $(field).querySelector("input");
      if (target === $(field)) target.setAttribute("aria-invalid", "true");
      target.focus();
    }
  };
  if (!url) { refuse({field: "webhook-url", text: "Give the receiving system's https address."}); return; }
  if (!/^https?:\/\//i.test(url)) { refuse({field: "webhook-url", text: URL_ADVICE["must be an https URL"]}); return; }
  if (!events.length) { refuse({field: "webhook-event-options", text: "Choose at least one event to send."}); return; }
  const request = {url, events, includeReason: $("webhook-reason").checked};
  const editing = webhooks.editing;
  if (editing) { // a change: an empty description or "All doctors" clears what was there
    request.description = $("webhook-description").value.trim() || null;
    request.doctorId = $("webhook-doctor").value || null;
    request.location = $("webhook-location").value || null;
  } else {
    if ($("webhook-description").value.trim()) request.description = $("webhook-description").value.trim();
    if ($("webhook-doctor").value) request.doctorId = $("webhook-doctor").value;
    if ($("webhook-location").value) request.location = $("webhook-location").value;
  }
  $("webhook-save").disabled = true;
  try {
    if (editing) {
      const changed = await api("PATCH", `/api/admin/webhooks/${encodeURIComponent(editing)}`, request);
      remember(changed);
      webhooks.editing = null;
      $("webhook-dialog").close();
      await loadWebhooks();
      say($("webhooks-status"), `Saved: ${webhookName(changed)}.`);
      refocusWebhook(`${editing}:edit`);
      return;
    }
    const made = await api("POST", "/api/admin/webhooks", request);
    remember(made, "created");
    $("webhook-dialog").close();
    say($("webhooks-status"), `Added: ${webhookName(made)}.`);
    await loadWebhooks();
    showSecret(made, "The subscription is added and active.");
  } catch (error) {
    refuse(webhookError(error));
  } finally {
    $("webhook-save").disabled = false;
  }
}

function showSecret(w, what) {
  // the signing secret, shown this once: kept in no state, and gone from the page when the dialog closes
  const dialog = $("secret-dialog");
  dialog.dataset.id = w.id;
  $("secret-what").textContent = `${what} Its signing secret, for ${webhookName(w)}:`;
  $("secret-value").value = w.secret || "";
  say($("secret-status"), "");
  dialog.showModal();
  $("secret-copy").focus();
}

async function copySecret() {
  const input = $("secret-value");
  try {
    await navigator.clipboard.writeText(input.value);
    say($("secret-status"), "Copied. Paste it into the receiving system now.");
  } catch (error) {
    input.focus();
    input.select();
    say($("secret-status"), "Copying is blocked in this browser: the secret is selected, press Ctrl+C (⌘C on a " +
      "Mac) to copy it.", true);
  }
}

function secretClosed() {
  const id = $("secret-dialog").dataset.id;
  $("secret-value").value = "";
  say($("secret-status"), "");
  const back = document.querySelector(`[data-key="${CSS.escape(`${id}:log`)}"]`);
  if (back) back.focus();
}

function refocusWebhook(key) {
  const target = document.querySelector(`[data-key="${CSS.escape(key)}"]`) || $("webhook-new");
  target.focus();
}

async function webhookAction(action, id) {
  const w = webhooks.byId.get(id);
  if (!w) return;
  const name = webhookName(w);
  if (action === "log") { openWebhookLog(id); return; }
  if (action === "edit") { openWebhookForm(w); return; }
  try {
    if (action === "pause" || action === "resume") {
      const changed = await api("PATCH", `/api/admin/webhooks/${encodeURIComponent(id)}`,
        {state: action === "pause" ? "paused" : "active"});
      remember(changed);
      say($("webhooks-status"), action === "pause" ?
        `Paused: ${webhookName(changed)}. Its events wait, unsent, until you resume it.` :
        `Resumed: ${webhookName(changed)}. What waited is being sent now.`);
      await loadWebhooks();
      refocusWebhook(`${id}:${action === "pause" ? "resume" : "pause"}`);
      if (webhooks.log === id) await loadWebhookLog();
    } else if (action === "rotate") {
      const ok = await ask(`Make a new signing secret for ${name}? The current one keeps working beside it for 24 ` +
        "hours, so put the new one into the receiving system within that time. (Rotating again within those 24 hours " +
        "ends the oldest secret at once.)", "Make a new secret");
      if (!ok) { refocusWebhook(`${id}:rotate`); return; }
      const rotated = await api("POST", `/api/admin/webhooks/${encodeURIComponent(id)}/rotate-secret`);
      remember(rotated);
      say($("webhooks-status"), `New signing secret made for ${webhookName(rotated)}.`);
      showSecret(rotated, "A new secret is made; the previous one keeps working for 24 hours.");
    } else if (action === "delete") {
      const ok = await ask(`Delete the subscription ${name}? It stops at once: no further events are sent to it, ` +
        "and events still waiting for it are dropped. This cannot be undone.", "Delete the subscription", true);
      if (!ok) { refocusWebhook(`${id}:delete`); return; }
      await api("DELETE", `/api/admin/webhooks/${encodeURIComponent(id)}`);
      remember(w, "deleted");
      if (webhooks.log === id) closeWebhookLog(false);
      await loadWebhooks();
      say($("webhooks-status"), `Deleted: ${name}.`);
      $("webhook-new").focus();
    }
  } catch (error) {
    say($("webhooks-status"), `${name}: ${error.message}`, true);
    if (error.status === 404) { remember(w, "deleted"); await loadWebhooks(); }
  }
}

function openWebhookLog(id) {
  webhooks.log = id;
  $("webhook-log").hidden = false;
  $("webhook-log-body").replaceChildren(el("p", {text: "Loading…"}));
  delete $("webhook-log-body").dataset.sig;
  say($("webhook-log-status"), "");
  const w = webhooks.byId.get(id);
  $("webhook-log-title").textContent = `Delivery log: ${w ? webhookName(w) : id}`;
  $("webhook-log-title").focus();
  loadWebhookLog();
}

function closeWebhookLog(focus = true) {
  const id = webhooks.log;
  webhooks.log = null;
  $("webhook-log").hidden = true;
  $("webhook-log-body").textContent = "";
  if (focus && id) refocusWebhook(`${id}:log`);
}

function lastAnswer(d) {
  if (!d.lastAttemptAt) return "No attempt yet";
  const what = d.lastStatusCode ? `HTTP ${d.lastStatusCode}` : d.lastError || "no answer";
  const advice = /^refused:/.test(d.lastError || "") ? " The receiver's host name now leads somewhere the clinic " +
    "never sends to: fix its DNS, or change the subscription's address." : "";
  return `${what}, ${atLocal(d.lastAttemptAt)}.${advice}`;
}

function deliveryState(d, w) {
  if (d.status === "delivered") return `Delivered ${d.deliveredAt ? atLocal(d.deliveredAt) : ""}`.trim();
  if (!["pending", "failing"].includes(d.status)) return DELIVERY_WORDS[d.status] || d.status;
  if (!d.nextAttemptAt && w && w.state === "paused") return `${DELIVERY_WORDS[d.status]}: held while paused`;
  return d.nextAttemptAt ? `${DELIVERY_WORDS[d.status]}; next try ${atLocal(d.nextAttemptAt)}` : DELIVERY_WORDS[d.status];
}

function prettyBody(body) {
  try { return JSON.stringify(JSON.parse(body), null, 2); } catch (error) { return body; }
}

async function loadWebhookLog() {
  const id = webhooks.log;
  if (!id || !session.get()) return;
  const run = ++webhooks.logRun; // only the latest load draws
  let found;
  try {
    found = (await api("GET", `/api/admin/webhooks/${encodeURIComponent(id)}/deliveries?limit=50`)).deliveries;
  } catch (error) {
    if (run === webhooks.logRun) say($("webhook-log-status"), error.message, true);
    return;
  }
  if (run !== webhooks.logRun || webhooks.log !== id) return;
  const w = webhooks.byId.get(id);
  $("webhook-log-title").textContent = `Delivery log: ${w ? webhookName(w) : id}`;
  $("webhook-log-what").textContent = "The 50 latest deliveries, newest first; times in your own zone. A resend " +
    "carries the same webhook-id, so the receiver can tell it already has it.";
  const body = $("webhook-log-body");
  const rows = found.map((d) => [d, deliveryState(d, w), lastAnswer(d)]);
  const signature = JSON.stringify([id, w && w.state, rows.map(([d, s, l]) => [d.id, d.attempts, s, l,
    d.history.length])]);
  if (body.dataset.sig === signature) return;
  const focusKey = body.contains(document.activeElement) ? document.activeElement.dataset.key : null;
  const open = new Set([...body.querySelectorAll("details[open]")].map((x) => x.dataset.delivery));
  body.replaceChildren(rows.length ? el("table", {class: "cards deliveries"},
    el("caption", {class: "sr-only", text: "Deliveries"}),
    el("thead", {}, el("tr", {}, ...["Event", "Status", "Attempts", "Last answer", "Actions"].map((name) =>
      el("th", {scope: "col", text: name})))),
    el("tbody", {}, ...rows.map(([d, status, last]) => el("tr", {"data-delivery": d.id, "data-status": d.status},
      el("td", {"data-label": "Event"}, eventCode(d.type), el("br"),
        el("span", {class: "muted small", text: `made ${atLocal(d.createdAt)}`}),
        el("details", {"data-delivery": d.id, open: open.has(d.id)},
          el("summary", {text: d.history.length ? "Body sent, and each attempt" : "Body sent"}),
          d.history.length ? el("ol", {class: "attempts"}, ...d.history.map((h) => el("li", {text:
            `${atLocal(h.at)}: ${h.statusCode ? `HTTP ${h.statusCode}` : h.error || "no answer"} (${h.ms} ms)`}))) : null,
          el("pre", {class: "body-sent", text: prettyBody(d.body)}))),
      el("td", {"data-label": "Status", class: `delivery-${d.status}`, text: status}),
      el("td", {"data-label": "Attempts", text: String(d.attempts)}),
      el("td", {"data-label": "Last answer", text: last}),
      el("td", {"data-label": "Actions"}, el("button", {type: "button", class: "secondary",
        "data-delivery-resend": d.id, "data-key": `${d.id}:resend`,
        "aria-label": `Resend ${d.type} made ${atLocal(d.createdAt)}`, text: "Resend"})))))) :
    el("p", {text: "Nothing delivered yet: events appear here as soon as they happen."}));
  body.dataset.sig = signature;
  const again = focusKey && body.querySelector(`[data-key="${CSS.escape(focusKey)}"]`);
  if (again) again.focus({preventScroll: true});
}

async function resendDelivery(deliveryId) {
  const id = webhooks.log;
  if (!id) return;
  try {
    const again = await api("POST",
      `/api/admin/webhooks/${encodeURIComponent(id)}/deliveries/${encodeURIComponent(deliveryId)}/resend`);
    say($("webhook-log-status"), `${again.type} is being sent again (its retries start over).`);
  } catch (error) {
    say($("webhook-log-status"), error.message, true);
  }
  await loadWebhookLog();
}

async function resendSince(event) {
  event.preventDefault();
  const id = webhooks.log;
  const value = $("webhook-since").value;
  const at = value ? new Date(value) : null;
  $("webhook-since").removeAttribute("aria-invalid");
  if (!at || Number.isNaN(at.getTime())) {
    $("webhook-since").setAttribute("aria-invalid", "true");
    say($("webhook-log-status"), "Pick the date and time to resend from.", true);
    $("webhook-since").focus();
    return;
  }
  const since = `${at.toISOString().slice(0, 19)}Z`;
  const ok = await ask(`Send again every event since ${atLocal(since)} (up to 1,000)? The receiver gets each one ` +
    "again, with the same webhook-id.", "Resend them");
  if (!ok) { $("webhook-since").focus(); return; }
  try {
    const again = (await api("POST", `/api/admin/webhooks/${encodeURIComponent(id)}/resend`, {since})).deliveries;
    say($("webhook-log-status"), again.length ? `${again.length} deliveries are being sent again.` :
      `No event since ${atLocal(since)}: nothing to resend.`);
  } catch (error) {
    say($("webhook-log-status"), error.message, true);
  }
  await loadWebhookLog();
  $("webhook-since").focus();
}

// ---------------------------------------------------------------- wiring
function wire() {
  calendars.wire(); // first: its section is in the page before anything shows or hides sections
  waitlistView.wire();
  $("signin-form").addEventListener("submit", (event) => { event.preventDefault(); signIn($("token").value.trim()); });
  $("sign-out").addEventListener("click", () => signOut());
  $("filters").addEventListener("submit", (event) => {
    event.preventDefault(); state.dayTouched = true; weekOffset = 0;
    refreshDay(); refreshWeek(); loadAnalytics();
  });
  $("today").addEventListener("click", () => {
    $("day").value = clinicToday(); weekOffset = 0; refreshDay(); refreshWeek(); loadAnalytics();
  });
  $("book-open").addEventListener("click", () => openBook($("doctor").value));
  $("week-doctor").addEventListener("change", refreshWeek);
  $("week-prev").addEventListener("click", () => { weekOffset -= 1; refreshWeek(); });
  $("week-next").addEventListener("click", () => { weekOffset += 1; refreshWeek(); });
  $("day-as-list").addEventListener("click", () => showDayAs("list"));
  $("day-as-grid").addEventListener("click", () => showDayAs("grid"));
  window.addEventListener("hashchange", () => showSection(location.hash.slice(1), true));
  showSection(location.hash.slice(1), false);
  new ResizeObserver(() => drawAnalytics()).observe($("analytics-body"));
  $("analytics-form").addEventListener("submit", (event) => {
    event.preventDefault(); state.analyticsTouched = true; loadAnalytics();
  });
  $("reminder-filters").addEventListener("submit", (event) => { event.preventDefault(); loadReminders(); });
  $("reminders-retry").addEventListener("click", () => reminderAction("retry", [...state.selected]));
  $("reminders-cancel").addEventListener("click", () => reminderAction("cancel", [...state.selected]));
  $("reminders-body").addEventListener("change", (event) => {
    const id = event.target.dataset.select;
    if (!id) return;
    if (event.target.checked) state.selected.add(id); else state.selected.delete(id);
  });
  $("availability-doctor").addEventListener("change", fillAvailabilityForm);
  $("availability-form").addEventListener("submit", saveAvailability);
  $("availability-preview").addEventListener("click", preview);
  $("add-break").addEventListener("click", () => {
    $("breaks").append(breakNode({start: "12:00", end: "13:00"}));
    $("breaks").lastElementChild.querySelector("select").focus();
  });
  $("add-holiday").addEventListener("click", () => {
    const day = $("holiday-date").value;
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) { say($("availability-status"), "Pick a date for the holiday.", true); return; }
    if (!$("holidays").querySelector(`[data-holiday="${day}"]`)) {
      $("holidays").append(holidayNode(day));
    }
    say($("availability-status"), `Holiday ${day} added (not saved yet).`);
  });
  $("availability-form").addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    if (button.dataset.addHours) {
      const list = button.parentElement.querySelector("[data-list]");
      list.append(intervalNode(`${dayName(button.dataset.addHours)} hours`, "09:00", "17:00"));
      list.lastElementChild.querySelector("input").focus();
    } else if (button.hasAttribute("data-remove")) {
      const section = button.closest("fieldset");
      button.closest("[data-interval]").remove();
      (section.querySelector("button") || section).focus();
    } else if (button.hasAttribute("data-remove-holiday")) {
      button.closest("li").remove();
      $("holiday-date").focus();
    }
  });
  $("book-form").addEventListener("submit", submitBook);
  $("book-patient").addEventListener("input", onPatientTyping);
  $("book-patient").addEventListener("keydown", (event) => {
    // Enter in the search box searches now; it never submits the booking half-filled
    if (event.key === "Enter") { event.preventDefault(); clearTimeout(patientSearch.timer); searchPatients(); }
  });
  $("book-patient-more").addEventListener("click", () => searchPatients(true));
  $("book-doctor").addEventListener("change", () => {
    syncBookType(); loadPicker($("book-doctor").value, $("book-date").value, $("book-slot"), $("book-error"));
  });
  $("book-date").addEventListener("change", () =>
    loadPicker($("book-doctor").value, $("book-date").value, $("book-slot"), $("book-error")));
  $("reschedule-form").addEventListener("submit", submitReschedule);
  $("webhook-new").addEventListener("click", () => openWebhookForm());
  $("webhooks-refresh").addEventListener("click", () => { loadWebhooks(); loadWebhookLog(); });
  $("webhook-form").addEventListener("submit", submitWebhook);
  $("webhook-dialog").addEventListener("close", () => {
    // closed without saving: focus goes back where the dialog was opened from
    if (webhooks.editing) refocusWebhook(`${webhooks.editing}:edit`);
    else if (!$("secret-dialog").open && !document.activeElement.closest("#webhooks-body")) $("webhook-new").focus();
    webhooks.editing = null;
  });
  $("secret-copy").addEventListener("click", copySecret);
  $("secret-dialog").addEventListener("close", secretClosed);
  $("webhook-resend-form").addEventListener("submit", resendSince);
  $("webhook-log-close").addEventListener("click", () => closeWebhookLog());
  $("webhooks").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-webhook-action], button[data-delivery-resend]");
    if (!button) return;
    if (button.dataset.deliveryResend) resendDelivery(button.dataset.deliveryResend);
    else webhookAction(button.dataset.webhookAction, button.dataset.id);
  });
  $("reschedule-date").addEventListener("change", () => {
    const a = state.appointments.get($("reschedule-dialog").dataset.id);
    if (a) loadPicker(a.doctorId, $("reschedule-date").value, $("reschedule-slot"), $("reschedule-error"));
  });
  answerWhenClosed();
  for (const dialog of document.querySelectorAll("dialog")) {
    dialog.addEventListener("click", (event) => { if (event.target.closest("[data-close]")) dialog.close(); });
    dialog.addEventListener("close", () => live.follow());
  }
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (button) {
      const action = button.dataset.action;
      if (action === "book") { openBook(button.dataset.doctor); return; }
      if (action === "book-at") {
        openBook(button.dataset.doctor, null, {date: button.dataset.date, startsAt: button.dataset.startsAt});
        return;
      }
      const a = state.appointments.get(button.dataset.id);
      if (!a) return;
      if (action === "book-again") {
        openBook(a.doctorId, {id: a.patientId, name: a.patientName, language: a.patientLanguage});
      }
      else if (action === "reschedule") openReschedule(a);
      else if (action === "audit") openAudit(a);
      else rowAction(action, a);
      return;
    }
    const reminderButton = event.target.closest("button[data-reminder-action]");
    if (reminderButton) reminderAction(reminderButton.dataset.reminderAction, [reminderButton.dataset.id]);
  });
  $("day").addEventListener("change", () => { state.dayTouched = true; });

  // the WebSocket brings slot changes at once; a slow resync catches what it does not carry (status changes
  // made elsewhere, failed reminders), patching in place so nothing under the user's hands moves
  setInterval(() => { if (session.get() && state.doctors.length) { refreshDay(); refreshWeek(); } },
    60000);
  setInterval(() => { if (session.get() && state.doctors.length) loadReminders(); }, 10000);
  // an open delivery log follows its deliveries (pending → delivered) every few seconds; the list more slowly
  // (only while it is on screen: not behind another tab of a phone's menu, nor in a browser tab out of sight)
  setInterval(() => {
    if (session.get() && webhooks.log && !document.hidden && $("webhook-log").getClientRects().length) loadWebhookLog();
  }, 3000);
  setInterval(() => { if (session.get() && state.doctors.length) loadWebhooks(); }, 20000);

  $("day").value = dateIn(undefined);
  const token = session.get();
  if (token) signIn(token);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wire);
else wire();
