/**
 * The dashboard page: one self-contained HTML document (no external scripts, styles or fonts: it works offline) that
 * polls `/dashboard/metrics` every second and draws each consumer's series as inline SVG charts. Every chart carries
 * its latest value in `data-latest`, for people reading the DOM and for the browser test.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>sluice — local pipeline</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 16px; color: #1d2433; background: #f7f8fa; }
  h1 { font-size: 18px; margin: 0 0 4px; }
  #ingress { color: #555; margin-bottom: 12px; }
  section { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; padding: 8px 12px; margin-bottom: 12px; }
  h2 { font-size: 15px; margin: 0 0 6px; }
  .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 8px; }
  figure { margin: 0; }
  figcaption { font-size: 12px; color: #555; display: flex; justify-content: space-between; }
  figcaption b { color: #1d2433; }
  svg { width: 100%; height: 60px; background: #fbfbfd; border: 1px solid #eef0f4; }
  polyline { fill: none; stroke: #2f6fed; stroke-width: 1.5; }
  polyline.second { stroke: #e0803a; }
</style>
</head>
<body>
<h1>sluice — local pipeline</h1>
<div id="ingress">waiting for the first sample…</div>
<div id="consumers"></div>
<script>
const CHARTS = [
  ['depth', 'depth (waiting / in flight)', (s) => s.depth, (s) => s.inFlight],
  ['age', 'oldest age (s)', (s) => s.oldestAgeSeconds],
  ['rate', 'in / out per second', (s) => s.inPerSecond, (s) => s.outPerSecond],
  ['retries', 'retries per second', (s) => s.retriesPerSecond],
  ['dlq', 'dead-lettered', (s) => s.deadLettered],
  ['latency', 'latency p50 / p99 (ms)', (s) => s.latencyP50Ms ?? 0, (s) => s.latencyP99Ms ?? 0],
];
const WINDOW = 120;
function section(name) {
  let element = document.getElementById('consumer-' + name);
  if (element) return element;
  element = document.createElement('section');
  element.id = 'consumer-' + name;
  element.innerHTML = '<h2></h2><div class="charts"></div>';
  element.querySelector('h2').textContent = name;
  for (const [metric, label] of CHARTS) {
    const figure = document.createElement('figure');
    figure.dataset.metric = metric;
    figure.dataset.consumer = name;
    figure.innerHTML = '<figcaption><span></span><b></b></figcaption><svg viewBox="0 0 ' + WINDOW + ' 60" preserveAspectRatio="none"><polyline class="first"/><polyline class="second"/></svg>';
    figure.querySelector('span').textContent = label;
    element.querySelector('.charts').appendChild(figure);
  }
  document.getElementById('consumers').appendChild(element);
  return element;
}
function points(samples, pick, max) {
  return samples.map((sample, index) => (WINDOW - samples.length + index) + ',' + (58 - (pick(sample) / max) * 56).toFixed(1)).join(' ');
}
function draw(metrics) {
  const ingress = metrics.ingress;
  document.getElementById('ingress').textContent = ingress
    ? 'ingress: offered ' + ingress.offered + ' · accepted ' + ingress.accepted + ' · throttled ' + ingress.throttled + ' · shed ' + ingress.shed + ' · rejected ' + ingress.rejected + ' · buffered ' + ingress.buffered + ' · invalid ' + ingress.invalid + ' · forbidden ' + ingress.forbidden
    : 'no ingress';
  for (const [name, all] of Object.entries(metrics.consumers)) {
    const samples = all.slice(-WINDOW);
    const element = section(name);
    for (const [metric, , first, second] of CHARTS) {
      const figure = element.querySelector('figure[data-metric="' + metric + '"]');
      const values = samples.flatMap((sample) => [first(sample), second ? second(sample) : 0]);
      const max = Math.max(1, ...values);
      figure.querySelector('polyline.first').setAttribute('points', points(samples, first, max));
      figure.querySelector('polyline.second').setAttribute('points', second ? points(samples, second, max) : '');
      const last = samples[samples.length - 1];
      const latest = last ? first(last) + (second ? ' / ' + second(last) : '') : '–';
      figure.querySelector('b').textContent = latest;
      figure.dataset.latest = String(latest);
    }
  }
  document.body.dataset.sampledAt = String(metrics.sampledAt);
}
async function tick() {
  try {
    const response = await fetch('/dashboard/metrics', { cache: 'no-store' });
    draw(await response.json());
  } catch (error) {
    document.getElementById('ingress').textContent = 'the local pipeline is not answering: ' + error;
  }
}
tick();
setInterval(tick, 1000);
</script>
</body>
</html>
`;
