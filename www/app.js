// Page glue: drawing, controls and painting results. Everything model-related happens in
// worker.js, which runs the Rust/wasm code; this file only moves pixels and numbers.

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

$('undo').addEventListener('click', () => { strokes.pop(); redrawPad(); requestInference(); });
$('clear').addEventListener('click', () => { strokes.length = 0; redrawPad(); requestInference(); });
$('reroll').addEventListener('click', () => { noiseSeed += 1; requestInference(); });
$('noise-kind').addEventListener('change', requestInference);
$('noise-strength').addEventListener('input', requestInference);
$('upload').addEventListener('change', async () => {
  const [file] = $('upload').files;
  if (!file) return;
  const bytes = await file.arrayBuffer();
  worker.postMessage({ type: 'upload', name: file.name, bytes }, [bytes]);
});

// At most one request in flight: updates while drawing are throttled to the worker's pace, and
// the latest drawing is always the one sent next.
function requestInference() {
  if (busy) { pending = true; return; }
  if (!worker || !histogram) return;
  busy = true;
  pending = false;
  const pixels = padContext.getImageData(0, 0, pad.width, pad.height).data;
  const ink = new Float32Array(pad.width * pad.height);
  for (let i = 0; i < ink.length; i += 1) ink[i] = pixels[i * 4] / 255;
  worker.postMessage(
    { type: 'infer', ink, width: pad.width, height: pad.height, noise: noiseSpec(), seed: noiseSeed },
    [ink.buffer],
  );
}

function paint(id, values) {
  const canvas = $(id);
  const context = canvas.getContext('2d');
  const image = context.createImageData(canvas.width, canvas.height);
  values.forEach((v, i) => {
    const level = Math.round(Math.min(1, Math.max(0, v)) * 255);
    image.data.set([level, level, level, 255], i * 4);
  });
  context.putImageData(image, 0, 0);
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
  $('score').textContent =
    `Error ${error.toFixed(2)}, above ${percentile.toFixed(1)} % of validation digits: ${verdict}.`;
  paintHistogram(error);
  const conv = result.convMs === null ? '' : `, conv ${result.convMs.toFixed(2)} ms`;
  $('timing').textContent = `Inference: dense ${result.denseMs.toFixed(2)} ms${conv}.`;
}

// One handler per reply type of worker.js.
const replies = {
  ready(data) {
    restarts = 0;
    histogram = data.histogram;
    statusLine.textContent = `Models loaded in ${data.loadMs.toFixed(0)} ms.`;
    $('conv-status').textContent = data.convMessage ?? '';
    $('upload').disabled = false;
    paintHistogram();
    requestInference();
  },
  result(data) {
    busy = false;
    showResult(data);
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

function startWorker() {
  worker = new Worker('worker.js', { type: 'module' });
  busy = false;
  worker.onmessage = ({ data }) => replies[data.type](data);
  // A worker that fails to start or crashes is replaced, so the page never hangs.
  worker.onerror = (event) => {
    event.preventDefault();
    restartWorker();
  };
  worker.postMessage({ type: 'load' });
}

// A worker that cannot even start (say its wasm failed to download) would otherwise be restarted
// forever; after this many failures in a row the page stops and says so.
const MAX_RESTARTS = 3;
let restarts = 0;

function restartWorker() {
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
