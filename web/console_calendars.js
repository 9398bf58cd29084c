// The console's Calendars view: a doctor's own calendars (an ICS feed, or a CalDAV calendar with an app password)
// whose busy times take the slots they cover. Each connection's state in words (last good sync, next one, the
// error when it fails, how many busy times it gave up to the booking horizon), pause / resume, sync now,
// disconnect; for a CalDAV calendar that receives visits, each visit's event in words ("In the doctor's calendar",
// "Failed: ... (403); will retry at ..."); the conflicts list (visits a busy time now overlaps). Credentials are
// write-only: the password field is never filled from the server and is emptied once the calendar is connected.
import { el, say } from "./shared/dom.js";

const $ = (id) => document.getElementById(id);

function section() {
  // built here, so the page's markup stays the other views' (console.html has only its menu link)
  const kind = (value, text, checked) => el("label", {class: "check"},
    el("input", {type: "radio", name: "calendar-kind", value, checked}), ` ${text}`);
  return el("section", {id: "calendars", "aria-labelledby": "calendars-title", "data-needs-signin": true,
    hidden: true},
  el("h2", {id: "calendars-title", tabindex: "-1", text: "Calendars"}),
  el("p", {class: "muted", text: "A doctor's own calendars (Google, Outlook, iCloud, any CalDAV server): their " +
      "busy times take the slots they cover. Only busy times are kept, never titles or guests."}),
  el("form", {id: "calendars-form", class: "filters"},
    el("label", {for: "calendars-doctor"}, "Doctor ", el("select", {id: "calendars-doctor"})),
    el("button", {type: "button", id: "calendars-refresh", class: "secondary", text: "Refresh"})),
  el("p", {id: "calendars-status", role: "status"}),
  el("div", {id: "calendars-body"}),
  el("h3", {id: "calendar-connect-title", text: "Connect a calendar"}),
  el("form", {id: "calendar-connect", novalidate: true, "aria-labelledby": "calendar-connect-title"},
    el("fieldset", {},
      el("legend", {text: "Kind"}),
      kind("ics", "ICS feed address (read only)", true),
      kind("caldav", "CalDAV calendar with an app password (read, and can receive visits)", false)),
    el("label", {for: "calendar-url"}, "Calendar address",
      el("input", {id: "calendar-url", type: "url", maxlength: "2048", autocomplete: "off", spellcheck: "false",
        required: true, "aria-describedby": "calendar-url-hint"})),
    el("p", {class: "muted", id: "calendar-url-hint", text: "The feed's address (it begins with https or webcal), or the " +
        "CalDAV calendar collection's URL. Addresses inside a private network are refused."}),
    el("div", {id: "calendar-caldav", hidden: true},
      el("label", {for: "calendar-username"}, "Username",
        el("input", {id: "calendar-username", maxlength: "200", autocomplete: "off", spellcheck: "false"})),
      el("label", {for: "calendar-password"}, "App password",
        el("input", {id: "calendar-password", type: "password", maxlength: "500", autocomplete: "new-password",
          "aria-describedby": "calendar-password-hint"})),
      el("p", {class: "muted", id: "calendar-password-hint", text: "Kept encrypted and never shown again: to " +
          "change it, disconnect the calendar and connect it anew."}),
      el("label", {class: "check"}, el("input", {type: "checkbox", id: "calendar-write"}),
        " Write each booked visit into this calendar (time and place only)")),
    el("p", {class: "error", id: "calendar-error", role: "alert"}),
    el("p", {class: "actions"}, el("button", {type: "submit", id: "calendar-connect-button", text: "Connect"}))),
  el("h3", {text: "Conflicts"}),
  el("p", {class: "muted", text: "Booked visits that a busy time of the doctor's calendars now overlaps. Nothing " +
      "is moved or cancelled on its own: move or cancel the visit from Day."}),
  el("div", {id: "conflicts-body"}));
}

function when(iso, zone) {
  if (!iso) return null;
  return new Intl.DateTimeFormat("en-GB", {timeZone: zone, day: "numeric", month: "short", year: "numeric",
    hour: "2-digit", minute: "2-digit"}).format(new Date(iso));
}

function calendarName(c) {
  let host = c.url;
  try { host = new URL(c.url).host; } catch (error) { /* kept as given */ }
  // the address itself is not shown: a feed's secret address is as good as a password
  return `${c.kind === "caldav" ? "CalDAV calendar" : "ICS feed"} at ${host}`;
}

const STATE_WORDS = {active: "Active", paused: "Paused: not synced until resumed", failing: "Failing"};

function visitWords(v, calendar, tz) {
  // where one booked visit stands in this calendar, in words staff can act on
  if (v.state === "written") return `In ${calendar}`;
  if (v.state === "deleted") return `Removed from ${calendar} (the visit was cancelled)`;
  if (v.state === "pending") return "Waiting to be written at the next sync";
  const again = when(v.retryAt, tz);
  return `Failed: ${v.error || "the calendar server did not take it"}${again ? `; will retry at ${again}` : ""}`;
}

function plain(error) {
  // the console's words, without the field list a validation error repeats
  if (error.code === "VALIDATION_ERROR") return error.message.replace(/ \([^()]*\)$/, "");
  return error.message;
}

export function createCalendars({api, ask, doctors}) {
  const state = {list: [], run: 0};

  const doctorId = () => $("calendars-doctor").value;
  const zone = () => (doctors().find((d) => d.id === doctorId()) || {}).timezone;
  const base = (id = doctorId()) => `/api/admin/doctors/${encodeURIComponent(id)}`;

  function connectionNode(c) {
    const tz = zone();
    const name = calendarName(c);
    const facts = [
      ["State", c.state === "failing" ? `Failing: ${c.lastError || "the last sync failed"}` : STATE_WORDS[c.state]],
      ["Last good sync", when(c.lastSyncAt, tz) || "not yet"],
      ["Next sync", c.state === "paused" ? "paused" : when(c.nextSyncAt, tz) || "not planned"],
      ["Busy times", `${c.busyIntervals} up to the booking horizon${c.truncated ? " (more than one sync reads: " +
        "the rest are not counted)" : ""}`],
    ];
    if (c.lastError && c.state !== "failing") facts.push(["Last error", c.lastError]);
    let visits = null;
    if (c.kind === "caldav") {
      const count = (state) => c.visits.filter((v) => v.state === state).length;
      const failed = count("failed");
      const pending = count("pending");
      facts.push(["Visits", c.writeVisits ? `${count("written")} written` + (failed ? `, ${failed} failed` : "") +
        (pending ? `, ${pending} waiting` : "") : "not written to this calendar"]);
      if (c.writeVisits && c.visits.length) {
        const short = c.url.replace(/\/+$/, "").split("/").pop() || "the calendar";
        const calendar = `the doctor's calendar "${decodeURIComponent(short)}"`;
        visits = el("ul", {class: "plain calendar-visits", "aria-label": `Visits in ${name}`},
          ...c.visits.map((v) => el("li", {"data-visit": v.appointmentId, class: `visit-${v.state}`},
            el("span", {text: `${when(v.startsAt, tz) || "Visit " + v.appointmentId}: `}),
            el("span", {text: visitWords(v, calendar, tz)}))));
      }
    }
    const button = (action, text, extra = {}) => el("button", {type: "button", "data-calendar-action": action,
      "data-id": c.id, "data-key": `${c.id}:${action}`, "aria-label": `${text}: ${name}`, text, ...extra});
    return el("li", {"data-calendar": c.id, class: `calendar-${c.state}`},
      el("h3", {text: name}),
      el("dl", {}, ...facts.flatMap(([k, v]) => [el("dt", {text: k}), el("dd", {text: v})])),
      ...(visits ? [visits] : []),
      el("p", {class: "actions"},
        button("sync", "Sync now", {disabled: c.state === "paused"}),
        c.state === "paused" ? button("resume", "Resume", {class: "secondary"})
          : button("pause", "Pause", {class: "secondary"}),
        button("delete", "Disconnect", {class: "danger"})));
  }

  function draw() {
    const focusKey = document.activeElement && document.activeElement.dataset
      ? document.activeElement.dataset.key : null;
    $("calendars-body").replaceChildren(state.list.length
      ? el("ul", {class: "plain calendars"}, ...state.list.map(connectionNode))
      : el("p", {class: "muted", text: "No calendar connected for this doctor."}));
    const again = focusKey && $("calendars-body").querySelector(`[data-key="${CSS.escape(focusKey)}"]`);
    if (again) again.focus();
  }

  async function load() {
    if (!doctorId()) return;
    const run = ++state.run;
    const id = doctorId();
    try {
      const [listed, flagged] = await Promise.all([api("GET", `${base(id)}/calendars`),
        api("GET", `${base(id)}/conflicts`)]);
      if (run !== state.run) return; // another doctor was chosen meanwhile
      state.list = listed.calendars;
      draw();
      drawConflicts(flagged.conflicts);
    } catch (error) {
      if (run === state.run) say($("calendars-status"), plain(error), true);
    }
  }

  function drawConflicts(conflicts) {
    const tz = zone();
    const byId = new Map(state.list.map((c) => [c.id, c]));
    $("conflicts-body").replaceChildren(conflicts.length ? el("ul", {class: "plain conflicts"},
      ...conflicts.map((f) => el("li", {"data-conflict": f.appointmentId},
        `Visit ${f.appointmentId}: a busy time ${when(f.start, tz)} to ${when(f.end, tz)}`,
        byId.has(f.calendarId) ? ` (${calendarName(byId.get(f.calendarId))})` : "", " overlaps it.")))
      : el("p", {class: "muted", text: "No conflicts."}));
  }

  function replace(c) {
    state.list = state.list.map((x) => (x.id === c.id ? c : x));
    draw();
  }

  async function act(action, id) {
    const c = state.list.find((x) => x.id === id);
    if (!c) return;
    const name = calendarName(c);
    try {
      if (action === "sync") {
        say($("calendars-status"), `Syncing the ${name}…`);
        replace(await api("POST", `${base()}/calendars/${encodeURIComponent(id)}/sync`));
        const now = state.list.find((x) => x.id === id);
        say($("calendars-status"), now.state === "failing" ? `The sync failed: ${now.lastError}`
          : `Synced: ${now.busyIntervals} busy times.`, now.state === "failing");
      } else if (action === "pause" || action === "resume") {
        replace(await api("PATCH", `${base()}/calendars/${encodeURIComponent(id)}`,
          {state: action === "pause" ? "paused" : "active"}));
        say($("calendars-status"), action === "pause" ? `The ${name} is paused.` : `The ${name} syncs again.`);
        const twin = $("calendars-body").querySelector(`[data-key="${id}:${action === "pause" ? "resume" : "pause"}"]`);
        if (twin) twin.focus(); // the button pressed became its opposite: focus stays on it
      } else if (action === "delete") {
        const ok = await ask(`Disconnect the ${name}? Its busy times stop blocking slots at once and its ` +
          "credentials are destroyed.", "Disconnect", true);
        if (!ok) { const back = $("calendars-body").querySelector(`[data-key="${id}:delete"]`); if (back) back.focus(); return; }
        await api("DELETE", `${base()}/calendars/${encodeURIComponent(id)}`);
        state.list = state.list.filter((x) => x.id !== id);
        draw();
        say($("calendars-status"), `The ${name} is disconnected.`);
        $("calendars-title").focus();
      }
    } catch (error) {
      say($("calendars-status"), plain(error), true);
    }
    load();
  }

  function chosenKind() {
    return (document.querySelector("input[name='calendar-kind']:checked") || {}).value || "ics";
  }

  async function connect(event) {
    event.preventDefault();
    for (const node of $("calendar-connect").querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
    const refuse = (field, text) => {
      say($("calendar-error"), text, true);
      if (field) { $(field).setAttribute("aria-invalid", "true"); $(field).focus(); }
    };
    const kind = chosenKind();
    const url = $("calendar-url").value.trim();
    if (!url) { refuse("calendar-url", "Give the calendar's address."); return; }
    if (!/^(https?|webcal):\/\//i.test(url)) {
      refuse("calendar-url", "The address must begin with https (or webcal, for a feed)."); return;
    }
    const body = {kind, url};
    if (kind === "caldav") {
      const username = $("calendar-username").value.trim();
      const password = $("calendar-password").value;
      if (!username) { refuse("calendar-username", "A CalDAV calendar needs its username."); return; }
      if (!password) { refuse("calendar-password", "A CalDAV calendar needs an app password."); return; }
      Object.assign(body, {username, password, writeVisits: $("calendar-write").checked});
    }
    say($("calendar-error"), "");
    say($("calendars-status"), "Connecting and syncing…");
    $("calendar-connect-button").disabled = true;
    try {
      const made = await api("POST", `${base()}/calendars`, body);
      $("calendar-connect").reset();
      $("calendar-caldav").hidden = true;
      state.list = [...state.list.filter((x) => x.id !== made.id), made];
      draw();
      say($("calendars-status"), made.state === "failing"
        ? `Connected, but the first sync failed: ${made.lastError}` : `Connected: ${made.busyIntervals} busy times.`,
      made.state === "failing");
      const row = $("calendars-body").querySelector(`[data-key="${made.id}:sync"]`);
      if (row) row.focus();
      load();
    } catch (error) {
      const fields = error.fields || {};
      const field = fields.url ? "calendar-url" : fields.username ? "calendar-username"
        : fields.password ? "calendar-password" : null;
      refuse(field, plain(error));
      say($("calendars-status"), "");
    } finally {
      $("calendar-connect-button").disabled = false;
    }
  }

  return {
    wire() {
      const place = $("webhooks");
      place.parentElement.insertBefore(section(), place);
      $("calendars-doctor").addEventListener("change", () => { say($("calendars-status"), ""); load(); });
      $("calendars-refresh").addEventListener("click", load);
      $("calendar-connect").addEventListener("submit", connect);
      $("calendar-connect").addEventListener("change", (event) => {
        if (event.target.name === "calendar-kind") $("calendar-caldav").hidden = chosenKind() !== "caldav";
      });
      $("calendars-body").addEventListener("click", (event) => {
        const button = event.target.closest("button[data-calendar-action]");
        if (button) act(button.dataset.calendarAction, button.dataset.id);
      });
    },
    doctors(list) {
      const keep = doctorId();
      $("calendars-doctor").replaceChildren(...list.map((d) => el("option", {value: d.id, text: d.name})));
      if (keep && list.some((d) => d.id === keep)) $("calendars-doctor").value = keep;
    },
    load,
    clear() {
      state.list = [];
      state.run += 1;
      $("calendars-body").textContent = "";
      $("conflicts-body").textContent = "";
      $("calendar-connect").reset();
      $("calendar-caldav").hidden = true;
      say($("calendars-status"), "");
      say($("calendar-error"), "");
    },
  };
}
