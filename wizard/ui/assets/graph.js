// The graph's zoom (gr.HTML js_on_load: `element` is the component's root element).
// Zoom stays in the page (no server round trip) and survives graph updates: it lives on the
// component's root element, the SVG inside is what gets replaced.
const zoomTo = (zoom) => {
  element.dataset.zoom = String(zoom);
  element.style.setProperty('--graph-zoom', zoom);
};
const current = () => parseFloat(element.dataset.zoom || '1');
const fitZoom = () => {
  const canvas = element.querySelector('.graph-canvas');
  const viewport = element.querySelector('.graph-viewport');
  if (!canvas || !viewport) return 1;
  const natural = parseFloat(getComputedStyle(canvas).getPropertyValue('--graph-width')) || 800;
  return Math.max(0.1, Math.min(1, (viewport.clientWidth - 24) / natural));
};
element.addEventListener('click', (event) => {
  const button = event.target.closest('[data-zoom]');
  if (!button) return;
  const action = button.dataset.zoom;
  if (action === 'in') zoomTo(Math.min(current() * 1.25, 4));
  if (action === 'out') zoomTo(Math.max(current() / 1.25, 0.1));
  if (action === 'fit') zoomTo(fitZoom());
});
element.addEventListener('wheel', (event) => {
  if (!event.ctrlKey) return;
  event.preventDefault();
  zoomTo(Math.max(0.1, Math.min(4, current() * (event.deltaY < 0 ? 1.1 : 1 / 1.1))));
}, { passive: false });
// A new workflow starts fitted to the width (readable at worst: then it scrolls); redraws of the same
// one (ticking inputs) keep the zoom. Fitting waits until the step is shown and has a width.
const fitWhenShown = () => {
  const canvas = element.querySelector('.graph-canvas');
  if (canvas && canvas.dataset.workflow !== element.dataset.workflow) {
    element.dataset.workflow = canvas.dataset.workflow;
    element.dataset.pendingFit = '1';
  }
  const viewport = element.querySelector('.graph-viewport');
  if (!element.dataset.pendingFit || !viewport || viewport.clientWidth === 0) return;
  delete element.dataset.pendingFit;
  zoomTo(Math.max(0.35, fitZoom()));
};
new MutationObserver(fitWhenShown).observe(element, { childList: true, subtree: true });
new ResizeObserver(fitWhenShown).observe(element);
fitWhenShown();
