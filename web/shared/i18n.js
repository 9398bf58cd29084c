// The patient app's words: one plain JSON catalogue per language (web/i18n/<lang>.json, keys to texts with
// `{name}` placeholders). `t(key, values)` looks a text up; `translatePage` fills the page's marked elements
// (`data-i18n` for the text, `data-i18n-<attribute>` for an attribute). The console does not use it (English).

export const LANGUAGES = ['en', 'es'];
/** What patients can choose; a language is added by its catalogue and its code here (and on the server). */
export const LANGUAGE_NAMES = { en: 'English', es: 'Español' };
/** Each language named in itself, so a reader finds its own whatever the page is in. */

const STORE = 'clinic.lang';
let messages = {};
let current = 'en';

export const language = () => current;

export function t(key, values = {}) {
  const text = Object.prototype.hasOwnProperty.call(messages, key) ? messages[key] : key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

export function chosenLanguage(languages = navigator.languages || [navigator.language]) {
  // the language this browser chose here before; else the first of its preferred languages the app speaks
  const saved = localStorage.getItem(STORE);
  if (saved && /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(saved)) return saved;
  for (const tag of languages) {
    const base = String(tag || '').toLowerCase().split('-')[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return LANGUAGES[0];
}

export function remember(lang) {
  localStorage.setItem(STORE, lang);
}

export async function load(lang) {
  // the catalogue, then the page's language and direction; English when a catalogue cannot be had
  let found = null;
  try {
    const response = await fetch(`/i18n/${encodeURIComponent(lang)}.json`, { cache: 'no-cache' });
    if (response.ok) found = await response.json();
  } catch (err) {
    found = null;
  }
  if (!found && lang !== LANGUAGES[0]) return load(LANGUAGES[0]);
  messages = found || {};
  current = lang;
  const root = document.documentElement;
  root.lang = lang;
  root.dir = messages['meta.dir'] === 'rtl' ? 'rtl' : 'ltr';
  return lang;
}

export function translatePage(root = document) {
  for (const node of root.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll('*')) {
    for (const name of node.getAttributeNames()) {
      if (name.startsWith('data-i18n-')) node.setAttribute(name.slice('data-i18n-'.length), t(node.getAttribute(name)));
    }
  }
}
