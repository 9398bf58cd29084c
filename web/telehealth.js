// Telehealth: a requirements check measured in the browser itself, and the room page (waiting, then joined).

const PROBLEMS = [
  // what a failure of the check is about: its words (`device.problem.<kind>`) and advice (`device.advice.<kind>`)
  [/offline/i, 'offline'],
  [/camera/i, 'camera'],
  [/microphone/i, 'microphone'],
  [/not supported|update/i, 'browser'],
  [/Mbps/, 'connection'],
];
// i18n-keys: device.problem.offline device.problem.camera device.problem.microphone device.problem.browser
// i18n-keys: device.problem.connection device.advice.offline device.advice.camera device.advice.microphone
// i18n-keys: device.advice.browser device.advice.connection device.advice.other

export function problemOf(failure) {
  // the kind of a failure (the server's English sentence, or the offline check's), or null when unknown
  const found = PROBLEMS.find(([pattern]) => pattern.test(failure));
  return found ? found[1] : null;
}

export function adviceFor(failure) {
  // the catalogue key of what to do about it
  const kind = problemOf(failure);
  return kind ? `device.advice.${kind}` : 'device.advice.other';
}

const BRANDS = { chromium: 'chrome', 'google chrome': 'chrome', 'microsoft edge': 'edge' };

export function browserInfo() {
  const brands = navigator.userAgentData && navigator.userAgentData.brands;
  const named = brands && brands.find((b) => /Chrom|Edge|Opera/.test(b.brand) && !/Not/.test(b.brand));
  if (named) {
    const brand = named.brand.toLowerCase();
    return { browser: BRANDS[brand] || brand, version: Number(named.version) };
  }
  const ua = navigator.userAgent;
  for (const [name, pattern] of [['edge', /Edg\/(\d+)/], ['firefox', /Firefox\/(\d+)/], ['chrome', /Chrom(?:e|ium)\/(\d+)/],
    ['safari', /Version\/(\d+).*Safari/]]) {
    const found = ua.match(pattern);
    if (found) return { browser: name, version: Number(found[1]) };
  }
  return { browser: 'other', version: 0 };
}

async function devices() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return { camera: false, microphone: false, denied: false };
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    const result = { camera: stream.getVideoTracks().length > 0, microphone: stream.getAudioTracks().length > 0 };
    stream.getTracks().forEach((t) => t.stop());
    return { ...result, denied: false };
  } catch (err) {
    return { camera: false, microphone: false, denied: err && err.name === 'NotAllowedError' };
  }
}

async function bandwidthMbps(api) {
  // A short download of our own API document: bytes over time; no third party involved.
  const started = performance.now();
  const response = await api.request('GET', '/openapi.json');
  const bytes = (await response.arrayBuffer()).byteLength;
  const seconds = Math.max((performance.now() - started) / 1000, 0.001);
  return Math.round(((bytes * 8) / seconds / 1e6) * 10) / 10;
}

export async function requirementsCheck(api, platform) {
  const online = navigator.onLine;
  const media = await devices();
  const { browser, version } = browserInfo();
  const mbps = online ? await bandwidthMbps(api).catch(() => 0) : 0;
  const answer = await api.json('POST', '/api/telehealth/requirements-check', {
    body: {
      platform, browser, browserVersion: Math.min(version, 1000), camera: media.camera, microphone: media.microphone,
      bandwidthMbps: Math.min(mbps, 100000),
    },
  });
  const failures = [...answer.failures];
  if (!online) failures.unshift('You are offline (online check).');
  return { pass: answer.pass && online, failures, denied: media.denied, measured: { browser, version, mbps, ...media } };
}

export function joinOpensAt(appointment) {
  return new Date(new Date(appointment.startsAt).getTime() - 15 * 60 * 1000);
}
