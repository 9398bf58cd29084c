// The console's Waitlist view: per doctor and day, the waiting entries in the order offers go (with their status),
// the open offers with the time left to answer, the day's freed times with each offer made and how it ended, an
// "Offer a time" action that offers a free time of that day to a chosen waiting entry by hand, and the week's
// refill figures. Built with el() only: every text the server sends goes in as text.
import { el, say } from "./shared/dom.js";

const $ = (id) => document.getElementById(id);

const STATUS_WORDS = {waiting: "waiting", offered: "offered", booked: "booked", expired: "expired", left: "left"};
const FREED_WORDS = {open: "open", refilled: "refilled", unfilled: "not filled", explained: "not offered",
  deferred: "waits for quiet hours to end"};
const ORIGIN_WORDS = {cancelled: "a cancellation", rescheduled: "a visit moved", "hold-released": "a hold released",
  "by-hand": "offered by hand", "hours-opened": "new working hours", "busy-removed": "a busy time removed"};

function section() {
  return el("section", {id: "waitlist", "aria-labelledby": "waitlist-title", "data-needs-signin": true, hidden: true},
    el("h2", {id: "waitlist-title", tabindex: "-1", text: "Waitlist"}),
    el("p", {class: "muted", text: "Patients waiting for a time with a doctor, in the order offers go. A freed time " +
        "is held for the first one it suits and offered; staff can offer a free time by hand."}),
    el("form", {id: "waitlist-form", class: "filters"},
      el("label", {for: "waitlist-doctor"}, "Doctor ", el("select", {id: "waitlist-doctor"})),
      el("label", {for: "waitlist-day"}, "Day ",
        el("input", {id: "waitlist-day", type: "date", min: "2000-01-01", max: "2100-12-31", required: true})),
      el("button", {type: "submit", text: "Show entries"})),
    el("p", {id: "waitlist-status", role: "status"}),
    el("h3", {text: "Entries"}),
    el("div", {id: "waitlist-entries"}),
    el("form", {id: "waitlist-offer", hidden: true, "aria-labelledby": "waitlist-offer-title"},
      el("h3", {id: "waitlist-offer-title", tabindex: "-1", text: "Offer a time"}),
      el("p", {id: "waitlist-offer-who"}),
      el("label", {for: "waitlist-offer-time"}, "Free time ", el("select", {id: "waitlist-offer-time"})),
      el("p", {class: "error", id: "waitlist-offer-error", role: "alert"}),
      el("p", {class: "actions"},
        el("button", {type: "submit", id: "waitlist-offer-send", text: "Offer this time"}),
        el("button", {type: "button", id: "waitlist-offer-cancel", class: "secondary", text: "Cancel"}))),
    el("h3", {text: "Freed times and offers"}),
    el("div", {id: "waitlist-freed"}),
    el("h3", {id: "waitlist-analytics-title", text: "Refill this week"}),
    el("div", {id: "waitlist-analytics"}));
}

function at(iso, zone) {
  return new Intl.DateTimeFormat("en-GB", {timeZone: zone, hour: "2-digit", minute: "2-digit"}).format(new Date(iso));
}

function left(iso, now = Date.now()) {
  const seconds = Math.max(0, Math.round((Date.parse(iso) - now) / 1000));
  if (!seconds) return "the time to answer is over";
  return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, "0")} s left to answer`;
}

function mondayOf(day) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  return d.toISOString().slice(0, 10);
}

function plusDays(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

const percent = (rate) => (rate === null || rate === undefined ? "none freed" : `${Math.round(rate * 100)} %`);
const minutesOf = (s) => (s === null || s === undefined ? "no rebooking yet" : `${Math.round(s / 60)} min`);

export function createWaitlist({api, doctors, today}) {
  const state = {entries: [], run: 0, offering: null, timer: null};

  const doctorId = () => $("waitlist-doctor").value;
  const day = () => $("waitlist-day").value;
  const zone = () => (doctors().find((d) => d.id === doctorId()) || {}).timezone;

  function entryNode(e, index) {
    const who = `Patient ${e.patientId}`;
    const facts = [`${e.type}, ${e.duration} min`, `${e.from} to ${e.to}`];
    if (e.days && e.days.length) facts.push(e.days.join(", "));
    if (e.times && e.times.length) facts.push(e.times.map((t) => `${t.start}-${t.end}`).join(", "));
    if (e.moveEarlier) facts.push(`to move visit ${e.moveEarlier} earlier`);
    const offer = e.offer ? el("p", {class: "offer"},
      `Offered ${e.offer.date} at ${e.offer.time}: `,
      el("span", {"data-expires": e.offer.expiresAt, text: left(e.offer.expiresAt)}),
      ` (outcome: ${e.offer.outcome})`) : null;
    const past = (e.pastOffers || []).length ? el("p", {class: "muted", text: "Earlier offers: " +
      e.pastOffers.map((o) => `${o.date} ${o.time} ${o.outcome}`).join("; ")}) : null;
    return el("li", {"data-entry": e.id},
      el("p", {}, el("strong", {text: `${index + 1}. ${who}`}), " ",
        el("span", {class: "entry-status", "data-status": e.status, text: STATUS_WORDS[e.status] || e.status})),
      el("p", {class: "muted", text: facts.join(" · ")}),
      offer, past,
      e.status === "waiting" ? el("p", {class: "actions"}, el("button", {type: "button", class: "secondary",
        "data-offer": e.id, "data-key": `offer:${e.id}`, "aria-label": `Offer a time to ${who}`,
        text: "Offer a time"})) : null);
  }

  function freedNode(f) {
    const tz = zone();
    const offers = (f.offers || []).map((o) => `${o.byHand ? "by hand, " : ""}${o.outcome}` +
      (o.entryId ? ` (entry ${o.entryId})` : ""));
    return el("li", {"data-freed": f.id},
      `${at(f.startsAt, tz)} to ${at(f.endsAt, tz)}, from ${ORIGIN_WORDS[f.origin] || f.origin}: ` +
      `${FREED_WORDS[f.status] || f.status}${f.reason ? ` (${f.reason})` : ""}`,
      offers.length ? el("br") : null,
      offers.length ? el("span", {class: "muted", text: `Offers: ${offers.join("; ")}`}) : null);
  }

  function tick() {
    for (const node of document.querySelectorAll("#waitlist-entries [data-expires]")) {
      const text = left(node.dataset.expires);
      if (node.textContent !== text) node.textContent = text;
    }
  }

  function drawAnalytics(weeks, monday) {
    // a week with nothing freed has no figures of its own: it reads as zeros
    const w = weeks[0] || {week: monday, freedMinutes: 0, refilledMinutes: 0, refillRate: null,
      medianSecondsToRebook: null, offersSent: 0, accepted: 0, declined: 0, expired: 0};
    const rows = [["Freed", `${w.freedMinutes} min`], ["Refilled", `${w.refilledMinutes} min`],
      ["Refill rate", percent(w.refillRate)], ["Median time to rebook", minutesOf(w.medianSecondsToRebook)],
      ["Offers sent", String(w.offersSent)], ["Accepted", String(w.accepted)], ["Declined", String(w.declined)],
      ["Lapsed", String(w.expired)]];
    $("waitlist-analytics").replaceChildren(el("p", {class: "muted", text: `Week of ${w.week}`}),
      el("dl", {class: "figures"}, ...rows.flatMap(([k, v]) => [el("dt", {text: k}), el("dd", {text: v})])));
  }

  async function load() {
    if (!doctorId() || !day()) return;
    const run = ++state.run;
    const id = encodeURIComponent(doctorId());
    const monday = mondayOf(day());
    try {
      const [view, report] = await Promise.all([
        api("GET", `/api/waitlist/day?doctorId=${id}&date=${day()}`),
        api("GET", `/api/waitlist/analytics?doctorId=${id}&from=${monday}&to=${plusDays(monday, 6)}`),
      ]);
      if (run !== state.run) return; // another doctor or day was chosen meanwhile
      const focusKey = document.activeElement && document.activeElement.dataset
        ? document.activeElement.dataset.key : null;
      state.entries = view.entries;
      $("waitlist-entries").replaceChildren(view.entries.length
        ? el("ol", {class: "plain waitlist-entries"}, ...view.entries.map(entryNode))
        : el("p", {class: "muted", text: "Nobody is waiting for this doctor."}));
      $("waitlist-freed").replaceChildren(view.freed.length
        ? el("ul", {class: "plain"}, ...view.freed.map(freedNode))
        : el("p", {class: "muted", text: "No time freed this day."}));
      drawAnalytics(report.weeks, monday);
      const again = focusKey && $("waitlist-entries").querySelector(`[data-key="${CSS.escape(focusKey)}"]`);
      if (again) again.focus();
    } catch (error) {
      if (run === state.run) say($("waitlist-status"), error.message, true);
    }
  }

  function closeOffer(focus = true) {
    const id = state.offering;
    state.offering = null;
    $("waitlist-offer").hidden = true;
    say($("waitlist-offer-error"), "");
    const back = id && $("waitlist-entries").querySelector(`[data-key="offer:${CSS.escape(id)}"]`);
    if (focus && back) back.focus();
  }

  async function openOffer(entryId) {
    const entry = state.entries.find((e) => e.id === entryId);
    if (!entry) return;
    state.offering = entryId;
    say($("waitlist-offer-error"), "");
    $("waitlist-offer-who").textContent = `To patient ${entry.patientId} (${entry.duration} min), on ${day()}.`;
    $("waitlist-offer-time").replaceChildren(el("option", {value: "", text: "Loading…"}));
    $("waitlist-offer").hidden = false;
    $("waitlist-offer-title").focus();
    try {
      const found = await api("GET", `/api/appointments/availability/${encodeURIComponent(doctorId())}/${day()}`);
      const free = (found.slots || []).filter((s) => s.available);
      $("waitlist-offer-time").replaceChildren(...(free.length ? free.map((s) => el("option", {value: s.time,
        text: s.time})) : [el("option", {value: "", text: "No free time this day"})]));
      $("waitlist-offer-send").disabled = !free.length;
    } catch (error) {
      say($("waitlist-offer-error"), error.message, true);
    }
  }

  async function sendOffer(event) {
    event.preventDefault();
    const entryId = state.offering;
    const time = $("waitlist-offer-time").value;
    if (!entryId || !time) { say($("waitlist-offer-error"), "Choose a free time.", true); return; }
    $("waitlist-offer-send").disabled = true;
    try {
      const offered = await api("POST", `/api/waitlist/${encodeURIComponent(entryId)}/offer`, {date: day(), time});
      closeOffer(false);
      say($("waitlist-status"), `Offered ${offered.offer.date} at ${offered.offer.time} to patient ` +
        `${offered.patientId}: it is held until they answer.`);
      await load();
      $("waitlist-title").focus();
    } catch (error) {
      say($("waitlist-offer-error"), error.message, true);
      $("waitlist-offer-time").focus();
    } finally {
      $("waitlist-offer-send").disabled = false;
    }
  }

  return {
    wire() {
      const place = $("webhooks");
      place.parentElement.insertBefore(section(), place);
      $("waitlist-form").addEventListener("submit", (event) => {
        event.preventDefault(); say($("waitlist-status"), ""); closeOffer(false); load();
      });
      $("waitlist-doctor").addEventListener("change", () => { closeOffer(false); load(); });
      $("waitlist-entries").addEventListener("click", (event) => {
        const button = event.target.closest("button[data-offer]");
        if (button) openOffer(button.dataset.offer);
      });
      $("waitlist-offer").addEventListener("submit", sendOffer);
      $("waitlist-offer-cancel").addEventListener("click", () => closeOffer());
      state.timer = setInterval(tick, 1000);
    },
    doctors(list) {
      const keep = doctorId();
      $("waitlist-doctor").replaceChildren(...list.map((d) => el("option", {value: d.id, text: d.name})));
      if (keep && list.some((d) => d.id === keep)) $("waitlist-doctor").value = keep;
    },
    load() {
      if (!day()) $("waitlist-day").value = today();
      return load();
    },
    clear() {
      state.entries = [];
      state.run += 1;
      closeOffer(false);
      for (const id of ["waitlist-entries", "waitlist-freed", "waitlist-analytics"]) $(id).textContent = "";
      say($("waitlist-status"), "");
    },
  };
}
