// Dates and times: days as YYYY-MM-DD, each shown in a zone of its own (the doctor's, and the viewer's beside it).

export const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

let LOCALE;
/** The language dates are written in: the patient app sets its own; the console leaves the browser's. */
export function setDateLocale(locale) {
  LOCALE = locale;
  try {
    new Intl.DateTimeFormat(locale);
  } catch (err) {
    LOCALE = undefined;  // a tag Intl does not take: the browser's own
  }
}

let PASS_WORDS = { first: ' (first)', second: ' (second, after the clocks go back)' };
/** How the two passes of a fall-back hour are told apart, in the page's language. */
export function setPassWords(words) {
  PASS_WORDS = words;
}

export const patientZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;
/** The browser's own zone. */

export function localDate(zone, instant = new Date()) {
  // the date in `zone` (the browser's own when undefined); en-CA formats as YYYY-MM-DD
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' })
    .format(instant);
}

export function addDays(isoDate, days) {
  const d = new Date(`${isoDate}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export function weekday(isoDate) {
  return WEEKDAYS[(new Date(`${isoDate}T12:00:00Z`).getUTCDay() + 6) % 7];
}

export function longDate(isoDate) {
  return new Intl.DateTimeFormat(LOCALE, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric',
    timeZone: 'UTC' }).format(new Date(`${isoDate}T12:00:00Z`));
}

export function shortDate(isoDate) {
  return new Intl.DateTimeFormat(LOCALE, { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short' })
    .format(new Date(`${isoDate}T12:00:00Z`));
}

export function clockTime(instant, zone) {
  return new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: zone })
    .format(new Date(instant));
}

export function atLocal(instant, zone) {
  // a moment in full, with its zone's abbreviation
  return new Intl.DateTimeFormat(LOCALE, { timeZone: zone, weekday: 'short', day: 'numeric', month: 'short',
    year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' })
    .format(new Date(instant));
}

export function zoneName(instant, zone) {
  // the zone's short name at that moment ("AEDT", "GMT+1"); it tells the two passes of a fall-back hour apart
  const part = new Intl.DateTimeFormat('en-GB', { timeZone: zone, timeZoneName: 'short' }).formatToParts(
    new Date(instant)).find((p) => p.type === 'timeZoneName');
  return part ? part.value : zone;
}

export const zonesDiffer = (zone) => zone !== patientZone();

export const minutes = (hhmm) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
export const hhmm = (m) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

export function passOf(slot, slots) {
  // A fall-back night offers its repeated local times twice (two instants): which pass this one is, if any.
  const same = slots.filter((s) => s.time === slot.time).sort((x, y) => Date.parse(x.startsAt) - Date.parse(y.startsAt));
  if (same.length < 2) return '';
  return same[0].startsAt === slot.startsAt ? PASS_WORDS.first : PASS_WORDS.second;
}

export const slotLabel = (slot, slots) => `${slot.time}${passOf(slot, slots)}`;
