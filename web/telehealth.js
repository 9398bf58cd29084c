// Telehealth: a requirements check measured in the browser itself, and the room page (waiting, then joined).

const ADVICE = [
  [/camera/i, 'Allow this page to use your camera (the camera icon in the address bar), or plug one in.'],
  [/microphone/i, 'Allow this page to use your microphone (the icon in the address bar), or plug one in.'],
  [/not supported|update/i, 'Update your browser, or use a recent Chrome, Edge, Firefox or Safari.'],
  [/Mbps/, 'Your connection is slow: move closer to your Wi-Fi router or close other downloads.'],
  [/offline/i, 'Connect to the internet, then check again.'],
];

export function adviceFor(failure) {
  const found = ADVICE.find(([pattern]) => pattern.test(failure));
  return found ? found[1] : 'Call the clinic if this stays a problem.';
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
