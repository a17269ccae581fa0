// Page glue: drawing, controls and painting results. Everything model-related happens in
// worker.js, which runs the Rust/wasm code; this file only moves pixels and numbers.

// index.html has started the model worker and the downloads it needs first. They are kept for
// the page's life, so a restarted worker gets the downloads without fetching them again.
const startup = window.bottleneckStartup;

const $ = (id) => document.getElementById(id);
const pad = $('pad');
const padContext = pad.getContext('2d', { willReadFrequently: true });
const statusLine = $('status');

// Strokes are kept so undo can redraw all but the last one.
const strokes = [];
let noiseSeed = 1;
let worker = null;
let busy = false;
let pending = false;
let histogram = null;
// A gallery example being shown instead of the drawing, as 784 values in [0, 1], or null.
let galleryImage = null;

function noiseSpec() {
  const strength = Number($('noise-strength').value) / 100;
  switch ($('noise-kind').value) {
    case 'salt-pepper': return `salt-pepper:${(strength * 0.5).toFixed(3)}`;
    case 'occlusion': return `occlusion:${Math.round(strength * 4)}`;
    default: return `gaussian:${strength.toFixed(2)}`;
  }
}

function redrawPad() {
  padContext.fillStyle = '#000';
  padContext.fillRect(0, 0, pad.width, pad.height);
  if (galleryImage) {
    padContext.imageSmoothingEnabled = false;
    padContext.drawImage(imageCanvas(galleryImage), 0, 0, pad.width, pad.height);
    return;
  }
  padContext.strokeStyle = '#fff';
  padContext.lineCap = 'round';
  padContext.lineJoin = 'round';
  for (const stroke of strokes) {
    padContext.lineWidth = stroke.width;
    padContext.beginPath();
    stroke.points.forEach(([x, y], i) => (i ? padContext.lineTo(x, y) : padContext.moveTo(x, y)));
    // A single click is a dot: a zero-length line with round caps.
    if (stroke.points.length === 1) padContext.lineTo(...stroke.points[0]);
    padContext.stroke();
  }
}

function padPoint(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * (pad.width / box.width),
    (event.clientY - box.top) * (pad.height / box.height)];
}

pad.addEventListener('pointerdown', (event) => {
  pad.setPointerCapture(event.pointerId);
  if (galleryImage) showGalleryItem(null, null);
  strokes.push({ width: Number($('brush').value), points: [padPoint(event)] });
  redrawPad();
  requestInference();
});
pad.addEventListener('pointermove', (event) => {
  if (!pad.hasPointerCapture(event.pointerId)) return;
  strokes.at(-1).points.push(padPoint(event));
  redrawPad();
  requestInference();
});
pad.addEventListener('pointerup', () => requestInference());

$('undo').addEventListener('click', () => { strokes.pop(); showGalleryItem(null, null); });
$('clear').addEventListener('click', () => { strokes.length = 0; showGalleryItem(null, null); });
$('reroll').addEventListener('click', () => { noiseSeed += 1; requestInference(); });
$('noise-kind').addEventListener('change', requestInference);
$('noise-strength').addEventListener('input', requestInference);
$('upload').addEventListener('change', async () => {
  const [file] = $('upload').files;
  if (!file) return;
  const bytes = await file.arrayBuffer();
  send({ type: 'upload', name: file.name, bytes }, [bytes]);
});

// At most one request in flight: updates while drawing are throttled to the worker's pace, and
// the latest drawing is always the one sent next.
function requestInference() {
  if (busy) { pending = true; return; }
  if (!worker || !histogram) return;
  busy = true;
  pending = false;
  const common = { type: 'infer', noise: noiseSpec(), seed: noiseSeed };
  // A gallery example is a model input already, and so is an empty pad: it preprocesses to a
  // blank image. That is the first request of every visit, which then skips reading the pad.
  if (galleryImage || strokes.length === 0) {
    send({ ...common, image: galleryImage?.slice() ?? new Float32Array(28 * 28) });
    return;
  }
  const pixels = padContext.getImageData(0, 0, pad.width, pad.height).data;
  const ink = new Float32Array(pad.width * pad.height);
  for (let i = 0; i < ink.length; i += 1) ink[i] = pixels[i * 4] / 255;
  send({ ...common, ink, width: pad.width, height: pad.height }, [ink.buffer]);
}

// Paints 28×28 values in [0, 1] as grey levels onto `canvas`.
function paintOn(canvas, values) {
  const context = canvas.getContext('2d');
  const image = context.createImageData(canvas.width, canvas.height);
  values.forEach((v, i) => {
    const level = Math.round(Math.min(1, Math.max(0, v)) * 255);
    image.data.fill(level, i * 4, i * 4 + 3);
    image.data[i * 4 + 3] = 255;
  });
  context.putImageData(image, 0, 0);
}

function paint(id, values) {
  paintOn($(id), values);
}

// A 28×28 canvas holding `values`, to draw scaled up elsewhere or show as a thumbnail.
function imageCanvas(values) {
  const canvas = document.createElement('canvas');
  canvas.width = 28;
  canvas.height = 28;
  paintOn(canvas, values);
  return canvas;
}

// Shows gallery example `values` (from `button`) on the pad and runs the models on it; null
// for both goes back to the drawing.
function showGalleryItem(button, values) {
  for (const other of $('gallery-items').children) other.setAttribute('aria-pressed', String(other === button));
  galleryImage = values;
  if (values) strokes.length = 0;
  redrawPad();
  requestInference();
}

// The examples come from gallery.json, which the trainer cut from the test sets.
async function loadGallery() {
  try {
    const response = await fetch('gallery.json');
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const { items } = await response.json();
    for (const item of items) {
      const values = Float32Array.from(atob(item.pixels), (c) => c.charCodeAt(0) / 255);
      const button = document.createElement('button');
      button.type = 'button';
      button.className = item.kind;
      button.title = item.name;
      button.setAttribute('aria-label', `${item.name} (${item.kind === 'digit' ? 'a digit' : 'not a digit'})`);
      button.setAttribute('aria-pressed', 'false');
      button.append(imageCanvas(values));
      button.addEventListener('click', () => showGalleryItem(button, values));
      $('gallery-items').append(button);
    }
  } catch (error) {
    $('gallery-items').textContent = `The examples could not be loaded (${error.message}).`;
  }
}

function paintHistogram(error) {
  const canvas = $('histogram');
  const context = canvas.getContext('2d');
  const { counts, lo, hi } = histogram;
  const tallest = Math.max(...counts, 1);
  const barWidth = canvas.width / counts.length;
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.fillStyle = '#7a8ba6';
  counts.forEach((count, i) => {
    const height = (count / tallest) * (canvas.height - 4);
    context.fillRect(i * barWidth, canvas.height - height, barWidth - 1, height);
  });
  if (error !== undefined) {
    const x = Math.min(canvas.width - 2, ((error - lo) / (hi - lo)) * canvas.width);
    context.fillStyle = '#e4572e';
    context.fillRect(x, 0, 2, canvas.height);
  }
}

function showResult(result) {
  paint('input', result.input);
  paint('noisy', result.noisy);
  paint('reconstruction', result.reconstruction);
  paint('heatmap', result.input.map((v, i) => Math.abs(v - result.reconstruction[i])));
  if (result.denoised) paint('denoised', result.denoised);
  const { error, percentile, unusual } = result.score;
  const verdict = unusual ? 'unusual: not much like the digits it learned' : 'looks like a digit';
  // A blank input has nothing to judge: its error only says how faint the average rebuild is.
  const blank = result.input.every((v) => v === 0);
  $('score').textContent = blank
    ? `Error ${error.toFixed(2)} for a blank image: draw a digit or pick an example to score it.`
    : `Error ${error.toFixed(2)}, above ${percentile.toFixed(1)} % of validation digits: ${verdict}.`;
  paintHistogram(error);
  const conv = result.convMs === null ? '' : `, conv ${result.convMs.toFixed(2)} ms`;
  $('timing').textContent = `Inference: dense ${result.denseMs.toFixed(2)} ms${conv}.`;
}

// Resolved when the first reconstruction has been painted.
let firstResultShown;
const firstResult = new Promise((resolve) => { firstResultShown = resolve; });

// One handler per reply type of worker.js.
const replies = {
  ready(data) {
    const restarted = restarts > 0 ? 'The model worker stopped and was restarted. ' : '';
    restarts = 0;
    histogram = data.histogram;
    const loadMs = performance.now() - workerStarted;
    statusLine.textContent = `${restarted}Dense model loaded in ${loadMs.toFixed(0)} ms.`;
    $('conv-status').textContent = data.convMessage ?? '';
    $('upload').disabled = false;
    paintHistogram();
    requestInference();
  },
  conv(data) {
    $('conv-status').textContent = data.message;
    if (!data.message) statusLine.textContent += ` Denoiser loaded in ${data.loadMs.toFixed(0)} ms.`;
    requestInference();
  },
  result(data) {
    busy = false;
    showResult(data);
    firstResultShown();
    if (pending) requestInference();
  },
  uploaded(data) {
    $('upload-status').textContent = data.message;
    requestInference();
  },
  failed(data) {
    const where = data.request === 'upload' ? $('upload-status') : statusLine;
    where.textContent = `Error: ${data.message}`;
    if (data.fatal) {
      restartWorker();
    } else if (data.request === 'infer') {
      busy = false;
      if (pending) requestInference();
    }
  },
};

// A worker that stops answering (closed, or stuck in a loop) is replaced: every request after
// the first load, which may be a slow download, must be answered within this time.
const ANSWER_TIMEOUT_MS = 5000;
let watchdog = null;

function send(message, transfer = []) {
  clearTimeout(watchdog);
  watchdog = setTimeout(restartWorker, ANSWER_TIMEOUT_MS);
  worker.postMessage(message, transfer);
}

// When the current worker was started.
let workerStarted = 0;

// Starts a model worker; the first time, takes over the one index.html started, which it sends
// the downloads to itself.
function startWorker() {
  const started = startup.worker;
  startup.worker = null;
  workerStarted = started ? startup.workerStarted : performance.now();
  worker = started ?? new Worker('worker.js', { type: 'module' });
  busy = false;
  const handle = (data) => {
    // `conv` is news the worker sends unasked, not an answer.
    if (data.type !== 'conv') clearTimeout(watchdog);
    replies[data.type](data);
  };
  worker.onmessage = ({ data }) => handle(data);
  // A worker that fails to start or crashes is replaced, so the page never hangs.
  worker.onerror = (event) => {
    event.preventDefault();
    restartWorker();
  };
  if (started && startup.workerFailed) {
    restartWorker();
    return;
  }
  if (started) startup.replies.splice(0).forEach(handle);
  startup.downloads.then(
    (data) => { if (!started) worker.postMessage({ type: 'load', ...data }); },
    (error) => { statusLine.textContent = `The models could not be downloaded: ${error.message}. Reload the page to try again.`; },
  );
}

// A worker that cannot even start (say its wasm failed to download) would otherwise be restarted
// forever; after this many failures in a row the page stops and says so.
const MAX_RESTARTS = 3;
let restarts = 0;

function restartWorker() {
  clearTimeout(watchdog);
  worker.terminate();
  histogram = null;
  $('upload').disabled = true;
  restarts += 1;
  if (restarts > MAX_RESTARTS) {
    statusLine.textContent = 'The model worker keeps failing: reload the page to try again.';
    return;
  }
  statusLine.textContent = 'The model worker stopped; restarting it…';
  startWorker();
}

// `?embed` shows only the drawing, results and score, for an iframe on another page.
document.body.classList.toggle('embed', new URLSearchParams(location.search).has('embed'));
redrawPad();
startWorker();
// The examples are built once the first reconstruction is shown, or after a second if the models
// fail to load: built at once, they competed with the model's loading for the processor and
// delayed the first reconstruction by 22–28 ms (medians of 10 cold starts, two rounds).
Promise.race([firstResult, new Promise((resolve) => { setTimeout(resolve, 1000); })]).then(loadGallery);
