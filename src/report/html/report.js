// stormcast report: zoom, hover values and series toggling over the inline SVG panels.
// Plain JavaScript, no library; the panels' data is the JSON in #stormcast-panels.
"use strict";
(function () {
  const W = 880, L = 62, R = 14, T = 12, B = 30, H = 230;
  const PW = W - L - R, PH = H - T - B;
  const NS = "http://www.w3.org/2000/svg";
  const panels = JSON.parse(document.getElementById("stormcast-panels").textContent);
  const byId = new Map(panels.map(function (p) { return [p.id, p]; }));

  // The smallest 1, 2 or 5 times a power of ten that cuts `span` in at most `n` steps.
  function niceStep(span, n) {
    const raw = span / n;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5, 10]) {
      if (m * p >= raw) return m * p;
    }
    return 10 * p;
  }

  function fmt(v) {
    if (v === null || v === undefined || !isFinite(v)) return "–";
    if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString("en-US");
    return String(Number(v.toPrecision(3)));
  }

  function el(name, attrs, text) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function setup(div) {
    const p = byId.get(div.dataset.panel);
    if (!p) return;
    const svg = div.querySelector("svg");
    const zoom = svg.querySelector(".zoom");
    const axis = svg.querySelector(".xaxis");
    const cursor = svg.querySelector(".cursor");
    const brush = svg.querySelector(".brush");
    const hit = svg.querySelector(".hit");
    const hover = div.querySelector(".hover");
    const hidden = new Set();
    let view = [0, p.end_s];
    let dragFrom = null;

    function toX(t) { return L + (t - view[0]) / (view[1] - view[0]) * PW; }
    function timeAt(x) { return view[0] + (Math.min(Math.max(x, L), L + PW) - L) / PW * (view[1] - view[0]); }
    function pointerX(evt) {
      const pt = svg.createSVGPoint();
      pt.x = evt.clientX;
      pt.y = evt.clientY;
      return pt.matrixTransform(svg.getScreenCTM().inverse()).x;
    }

    function draw() {
      const k = p.end_s / (view[1] - view[0]);
      const from = L + view[0] / p.end_s * PW;
      zoom.setAttribute("transform", "translate(" + L + " 0) scale(" + k + " 1) translate(" + (-from) + " 0)");
      axis.textContent = "";
      const step = niceStep(view[1] - view[0], 8);
      for (let i = Math.ceil(view[0] / step - 1e-9); i * step <= view[1] + 1e-9; i++) {
        const t = i * step;
        const x = toX(t);
        axis.appendChild(el("line", { class: "tick", x1: x, x2: x, y1: 0, y2: 5 }));
        axis.appendChild(el("text", { class: "xtick", x: x, y: 18 }, fmt(t) + " s"));
      }
      div.classList.toggle("zoomed", view[0] > 0 || view[1] < p.end_s);
    }

    function showHover(x) {
      const t = timeAt(x);
      const i = Math.floor(t / p.bucket_s);
      cursor.setAttribute("x1", x);
      cursor.setAttribute("x2", x);
      cursor.style.visibility = "visible";
      const lines = [fmt(i * p.bucket_s) + "–" + fmt((i + 1) * p.bucket_s) + " s"];
      p.series.forEach(function (s, k) {
        if (hidden.has(k)) return;
        lines.push(s.name + ": " + fmt(s.values[i]) + " " + p.unit);
      });
      hover.textContent = lines.join("\n");
      hover.hidden = false;
      const box = svg.getBoundingClientRect();
      const px = (x / W) * box.width;
      hover.style.left = (px > box.width / 2 ? px - hover.offsetWidth - 12 : px + 12) + "px";
    }

    hit.addEventListener("pointermove", function (evt) {
      const x = pointerX(evt);
      showHover(x);
      if (dragFrom !== null) {
        brush.setAttribute("x", Math.min(dragFrom, x));
        brush.setAttribute("width", Math.abs(x - dragFrom));
      }
    });
    hit.addEventListener("pointerleave", function () {
      cursor.style.visibility = "hidden";
      hover.hidden = true;
    });
    hit.addEventListener("pointerdown", function (evt) {
      dragFrom = pointerX(evt);
      // Keeps the drag when the pointer leaves the panel; a pointer the browser does
      // not track (a synthetic event) cannot be captured, and the drag works without.
      try { hit.setPointerCapture(evt.pointerId); } catch (e) { /* not captured */ }
    });
    hit.addEventListener("pointerup", function (evt) {
      const x = pointerX(evt);
      if (dragFrom !== null && Math.abs(x - dragFrom) > 4) {
        const a = timeAt(Math.min(dragFrom, x));
        const b = timeAt(Math.max(dragFrom, x));
        if (b - a >= p.bucket_s) {
          view = [a, b];
          draw();
        }
      }
      dragFrom = null;
      brush.setAttribute("width", 0);
    });
    hit.addEventListener("dblclick", function () {
      view = [0, p.end_s];
      draw();
    });
    div.querySelectorAll("button.key").forEach(function (button) {
      button.addEventListener("click", function () {
        const k = Number(button.dataset.series);
        const off = !hidden.has(k);
        if (off) hidden.add(k); else hidden.delete(k);
        button.setAttribute("aria-pressed", off ? "false" : "true");
        svg.querySelector('.series[data-series="' + k + '"]').style.display = off ? "none" : "";
      });
    });
    draw();
  }

  document.querySelectorAll(".panel").forEach(setup);
  document.body.dataset.ready = "true";
})();
