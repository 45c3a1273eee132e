// Reports the first paint with when the page arrived and was parsed (ms
// since it started loading), as Slipway's page does.
requestAnimationFrame(() => requestAnimationFrame(() => {
  const page = performance.getEntriesByType("navigation")[0];
  const round = (ms) => Math.round(ms * 10) / 10;
  const marks = page ? [["html", round(page.responseEnd)], ["parsed", round(page.domInteractive)]] : [];
  marks.push(["painted", round(performance.now())]);
  window.__TAURI_INTERNALS__.invoke("painted", { marks });
}));
