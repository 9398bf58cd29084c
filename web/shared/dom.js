// Building the page from data without HTML strings: every text goes in as text, every attribute as an attribute,
// so nothing a server or a patient typed can ever become markup. Shared by the patient app and the console.

export function el(tag, attrs = {}, ...children) {
  // attrs: `class`, `text`, `on<event>` handlers, boolean `true` for an empty attribute; false/null/undefined skip
  const node = document.createElement(tag);
  return fill(node, attrs, children);
}

const SVG = 'http://www.w3.org/2000/svg';

export function svg(tag, attrs = {}, ...children) {
  return fill(document.createElementNS(SVG, tag), attrs, children);
}

function fill(node, attrs, children) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name === 'class') node.setAttribute('class', value);
    else if (name === 'text') node.textContent = value;
    else if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

export function say(element, text, isError = false) {
  // a status line: replaced, never appended to; an error is marked so it reads (and looks) as one
  element.textContent = '';
  if (!text) return;
  element.append(isError ? el('span', { class: 'error', text }) : text);
}
