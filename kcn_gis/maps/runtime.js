/* kcn_gis map runtime: decodes the compact layers, draws them on Leaflet's canvas renderer,
 * and adds the legend, layer control, park search, language switch, popups and time slider.
 * Every value from the data is put into the page with textContent (never innerHTML); the only
 * two Leaflet APIs that take HTML (layer-control names and attribution) get escaped text.
 * Test/benchmark hook: window.kcnGis (ready flag, counts, setLang, map). */
(function () {
  "use strict";

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function count(a, i) {
    return typeof a === "number" ? a : a[i];
  }

  // Decode the compact geometry into flat typed arrays of Web-Mercator pixel coordinates at zoom 0:
  // xs/ys per vertex, ringStart per ring, featRing per feature (all rings of all parts), bbox per feature.
  function decode(g, n) {
    var scale = Math.pow(10, g.p), c = g.c, nv = c.length / 2;
    var xs = new Float64Array(nv), ys = new Float64Array(nv);
    var x = 0, y = 0, D = Math.PI / 180, K = 256 / (2 * Math.PI);
    for (var v = 0, ci = 0; v < nv; v++) {
      x += c[ci++];
      y += c[ci++];
      var lat = Math.max(-85.0511287798, Math.min(85.0511287798, y / scale));
      xs[v] = 256 * (x / scale / 360 + 0.5);
      ys[v] = 128 - K * Math.log(Math.tan(Math.PI / 4 + lat * D / 2));
    }
    var featRing = new Int32Array(n + 1), ringStart = [0];
    var minx = new Float64Array(n), miny = new Float64Array(n), maxx = new Float64Array(n), maxy = new Float64Array(n);
    var line = g.t === "line", part = 0, ring = 0, at = 0;
    for (var k = 0; k < n; k++) {
      featRing[k] = ring;
      var np = count(g.f, k), x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (var p = 0; p < np; p++, part++) {
        var nr = line ? 1 : count(g.r, part);
        for (var r = 0; r < nr; r++, ring++) {
          var m = count(g.n, line ? part : ring);
          for (var j = at; j < at + m; j++) {
            if (xs[j] < x0) x0 = xs[j];
            if (xs[j] > x1) x1 = xs[j];
            if (ys[j] < y0) y0 = ys[j];
            if (ys[j] > y1) y1 = ys[j];
          }
          at += m;
          ringStart.push(at);
        }
      }
      minx[k] = x0; miny[k] = y0; maxx[k] = x1; maxy[k] = y1;
    }
    featRing[n] = ring;
    return { line: line, xs: xs, ys: ys, featRing: featRing, ringStart: Int32Array.from(ringStart),
             minx: minx, miny: miny, maxx: maxx, maxy: maxy };
  }

  function hasGeom(G, k) {
    return G.featRing[k + 1] > G.featRing[k] && G.ringStart[G.featRing[k + 1]] > G.ringStart[G.featRing[k]];
  }

  // Even-odd point-in-polygon over every ring of feature k (zoom-0 pixel coordinates).
  function inside(G, k, px, py) {
    if (px < G.minx[k] || px > G.maxx[k] || py < G.miny[k] || py > G.maxy[k]) return false;
    var xs = G.xs, ys = G.ys, odd = false;
    for (var r = G.featRing[k]; r < G.featRing[k + 1]; r++) {
      var a = G.ringStart[r], b = G.ringStart[r + 1];
      for (var i = a, j = b - 1; i < b; j = i++) {
        if ((ys[i] > py) !== (ys[j] > py) && px < (xs[j] - xs[i]) * (py - ys[i]) / (ys[j] - ys[i]) + xs[i]) odd = !odd;
      }
    }
    return odd;
  }

  // One Leaflet canvas renderer per layer that paints all its features itself, batched by style class
  // (one path + one fill + one stroke per class), instead of one Leaflet object per feature.
  var KcnLayer = L.Canvas.extend({
    options: { padding: 0.3 },
    initialize: function (ls, rt) {
      L.Canvas.prototype.initialize.call(this, {});
      this._ls = ls;
      this._rt = rt;
      this._lastMove = 0;
    },
    _updatePaths: function () {
      if (this._postponeUpdatePaths) return;
      this._paint();
    },
    _redraw: function () {
      this._redrawRequest = null;
      this._paint();
    },
    _draw: function () {
      this._paint();
    },
    _paint: function () {
      var ctx = this._ctx, map = this._map, ls = this._ls, G = ls.G;
      if (!ctx || !map || !this._bounds) return;
      var cv = this._container;
      ctx.save();
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, cv.width, cv.height);
      ctx.restore();
      var s = map.getZoomScale(map.getZoom(), 0), o = map.getPixelOrigin(), b = this._bounds;
      var vx0 = (b.min.x + o.x) / s, vy0 = (b.min.y + o.y) / s, vx1 = (b.max.x + o.x) / s, vy1 = (b.max.y + o.y) / s;
      var byClass = ls.classes.map(function () { return []; });
      var painted = 0;
      for (var k = 0; k < ls.n; k++) {
        if (G.maxx[k] < vx0 || G.minx[k] > vx1 || G.maxy[k] < vy0 || G.miny[k] > vy1 || !hasGeom(G, k)) continue;
        byClass[ls.cur[k]].push(k);
      }
      var xs = G.xs, ys = G.ys, ox = o.x, oy = o.y, TINY = 3, CHUNK = 1000;
      ls.paintOrder.forEach(function (c) {
        var ks = byClass[c], st = ls.classes[c].style;
        if (!ks.length) return;
        var doFill = !G.line && st.fill !== false, w = st.weight === undefined ? 3 : st.weight;
        var doStroke = st.stroke !== false && w > 0;
        var fillAlpha = st.fillOpacity === undefined ? 0.2 : st.fillOpacity, strokeAlpha = st.opacity === undefined ? 1 : st.opacity;
        var fillColor = st.fillColor || st.color || "#3388ff", strokeColor = st.color || "#3388ff";
        ctx.lineJoin = G.line ? "round" : "miter";
        ctx.lineCap = G.line ? "round" : "butt";
        ctx.setLineDash(st.dashArray ? String(st.dashArray).split(/[ ,]+/).map(Number) : []);
        // Features a few pixels wide are painted as their bounding box (an outline would cover them anyway);
        // the others as paths, flushed every CHUNK features (one huge path is much slower to rasterise).
        var tiny = [], n = 0;
        function flush() {
          if (!n) return;
          if (doFill) { ctx.globalAlpha = fillAlpha; ctx.fillStyle = fillColor; ctx.fill("evenodd"); }
          if (doStroke) { ctx.globalAlpha = strokeAlpha; ctx.strokeStyle = strokeColor; ctx.lineWidth = w; ctx.stroke(); }
          ctx.beginPath();
          n = 0;
        }
        ctx.beginPath();
        for (var q = 0; q < ks.length; q++) {
          var k = ks[q];
          if (doFill && (G.maxx[k] - G.minx[k]) * s < TINY && (G.maxy[k] - G.miny[k]) * s < TINY) {
            tiny.push(k);
            continue;
          }
          for (var r = G.featRing[k]; r < G.featRing[k + 1]; r++) {
            var a = G.ringStart[r], e = G.ringStart[r + 1];
            if (e <= a) continue;
            ctx.moveTo(xs[a] * s - ox, ys[a] * s - oy);
            for (var i = a + 1; i < e; i++) ctx.lineTo(xs[i] * s - ox, ys[i] * s - oy);
            if (!G.line) ctx.closePath();
          }
          if (++n >= CHUNK) flush();
        }
        flush();
        if (tiny.length) {
          ctx.globalAlpha = Math.max(fillAlpha, doStroke ? strokeAlpha * 0.5 : 0);
          ctx.fillStyle = fillColor;
          for (q = 0; q < tiny.length; q++) {
            k = tiny[q];
            var x0 = G.minx[k] * s - ox, y0 = G.miny[k] * s - oy;
            ctx.fillRect(x0, y0, Math.max(1, (G.maxx[k] - G.minx[k]) * s), Math.max(1, (G.maxy[k] - G.miny[k]) * s));
          }
        }
        painted += ks.length;
      });
      ctx.globalAlpha = 1;
      ls.painted = painted;
    },
    _onClick: function (e) {
      if (e.type === "click") {
        var hit = this._rt.hit(e);
        if (hit) {
          L.DomEvent.stop(e);
          this._rt.openPopup(hit.ls, hit.k, this._map.mouseEventToLatLng(e));
          return;
        }
      }
      this._fireEvent(false, e);
    },
    _onMouseMove: function (e) {
      var now = Date.now();
      if (now - this._lastMove < 80 || this._map.dragging && this._map.dragging.moving()) return;
      this._lastMove = now;
      var c = this._map.getContainer();
      if (this._rt.hit(e)) L.DomUtil.addClass(c, "leaflet-interactive");
      else L.DomUtil.removeClass(c, "leaflet-interactive");
    },
    _handleMouseOut: function () {}
  });

  function prop(layer, name, i) {
    var col = layer.props[name];
    if (!col) return null;
    return col.v ? col.v[i] : col.d[col.i[i]];
  }

  function normalize(s) {
    return String(s).normalize("NFD").replace(/[\u0300-\u036f]/g, "")
      .replace(/[đĐ]/g, "d").toLowerCase();
  }

  function Runtime(map, spec) {
    this.map = map;
    this.spec = spec;
    this.lang = spec.lang;
    this.layers = {};
    this.ready = false;
    this.t0 = performance.now();
    this.popup = null;
    this.build();
  }

  Runtime.prototype.tr = function (v) {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      var s = v[this.lang];
      return s !== undefined && s !== null && s !== "" ? s : v.vi;
    }
    return v;
  };

  Runtime.prototype.s = function (key) {
    return this.tr(this.spec.strings[key]);
  };

  Runtime.prototype.locale = function () {
    return this.lang === "vi" ? "vi-VN" : "en-GB";
  };

  Runtime.prototype.fmt = function (v, kind, layer, i) {
    var self = this;
    if (kind === "class") {
      var c = layer.classes[layer.cur[i]];
      return c ? this.tr(c.label) : "";
    }
    if (v === null || v === undefined || v === "") return null;
    var num = function (x, d) {
      return Number(x).toLocaleString(self.locale(), { minimumFractionDigits: d, maximumFractionDigits: d });
    };
    switch (kind) {
      case "ha": return num(v, 1) + " ha";
      case "m2": return num(v, 0) + " m²";
      case "pct": return num(100 * v, 1) + " %";
      case "int": return num(v, 0);
      case "bool": return this.s(v ? "yes" : "no");
      case "date":
        if (this.lang === "vi" && /^\d{4}-\d{2}-\d{2}/.test(v)) return v.slice(8, 10) + "/" + v.slice(5, 7) + "/" + v.slice(0, 4);
        return String(v).slice(0, 10);
      case "list":
        if (Array.isArray(v)) return v.length ? v.map(function (x) { return self.tr(x); }).join("; ") : null;
        return String(v);
      default: return String(this.tr(v));
    }
  };

  Runtime.prototype.build = function () {
    var self = this, map = this.map, spec = this.spec;
    if (spec.fit) map.fitBounds(spec.fit, { animate: false });
    spec.layers.forEach(function (ls) { self.addLayer(ls); });
    this.addTitle();
    this.addLangSwitch();
    this.addSearch();
    this.addLegend();
    this.addPanels();
    this.addSlider();
    this.layerControl = null;
    this.buildLayerControl();
    map.attributionControl.setPrefix("Leaflet");
    this.attribution = null;
    this.setAttribution();
    this.builtMs = performance.now() - this.t0;
    requestAnimationFrame(function () {
      requestAnimationFrame(function () {
        self.ready = true;
        self.readyMs = performance.now();
        document.documentElement.setAttribute("data-kcn-ready", "1");
      });
    });
  };

  Runtime.prototype.addLayer = function (ls) {
    ls.G = decode(ls.geom, ls.n);
    ls.cur = new Int32Array(ls.n);
    for (var k = 0; k < ls.n; k++) ls.cur[k] = typeof ls.cls === "number" ? ls.cls : ls.cls[k];
    // thin outlines first, thick (highlighted) last
    ls.paintOrder = ls.classes.map(function (c, i) { return i; }).sort(function (a, b) {
      return (ls.classes[a].style.weight || 0) - (ls.classes[b].style.weight || 0) || a - b;
    });
    ls.drawable = 0;
    for (k = 0; k < ls.n; k++) if (hasGeom(ls.G, k)) ls.drawable++;
    ls.group = new KcnLayer(ls, this);
    if (ls.show) ls.group.addTo(this.map);
    this.layers[ls.id] = ls;
  };

  // The topmost visible interactive feature under a mouse event, or null.
  Runtime.prototype.hit = function (e) {
    var map = this.map, lp = map.mouseEventToLayerPoint(e), o = map.getPixelOrigin();
    var s = map.getZoomScale(map.getZoom(), 0), px = (lp.x + o.x) / s, py = (lp.y + o.y) / s;
    var canvases = Array.prototype.slice.call(map.getPanes().overlayPane.children).reverse();
    for (var c = 0; c < canvases.length; c++) {
      var ls = null;
      for (var id in this.layers) if (this.layers[id].group._container === canvases[c]) ls = this.layers[id];
      if (!ls || !ls.interactive || !map.hasLayer(ls.group) || ls.G.line) continue;
      for (var k = ls.n - 1; k >= 0; k--) if (inside(ls.G, k, px, py)) return { ls: ls, k: k };
    }
    return null;
  };

  Runtime.prototype.featureBounds = function (ls, k) {
    var G = ls.G, map = this.map;
    return L.latLngBounds(map.unproject([G.minx[k], G.maxy[k]], 0), map.unproject([G.maxx[k], G.miny[k]], 0));
  };

  Runtime.prototype.popupNode = function (ls, i) {
    var self = this, p = ls.popup, box = el("div", "kcn-popup");
    var title = p.title ? prop(ls, this.tr(p.title), i) : null;
    if ((title === null || title === "") && p.title) title = prop(ls, p.title.vi, i);
    box.appendChild(el("div", "kcn-popup-title", title === null ? "" : title));
    var table = el("table");
    p.rows.forEach(function (row) {
      var v = row.field ? prop(ls, row.field, i) : null;
      var text = self.fmt(v, row.fmt, ls, i);
      if (text === null || text === "") return;
      var tr = el("tr");
      tr.appendChild(el("th", null, self.tr(row.label)));
      tr.appendChild(el("td", null, text));
      table.appendChild(tr);
    });
    box.appendChild(table);
    return box;
  };

  Runtime.prototype.openPopup = function (ls, i, latlng) {
    this.popupAt = { ls: ls, i: i };
    this.popup = L.popup({ maxWidth: 360 }).setLatLng(latlng).setContent(this.popupNode(ls, i)).openOn(this.map);
  };

  Runtime.prototype.refreshPopup = function () {
    if (this.popup && this.popupAt && this.map.hasLayer(this.popup)) {
      this.popup.setContent(this.popupNode(this.popupAt.ls, this.popupAt.i));
    }
  };

  Runtime.prototype.control = function (position, build) {
    var C = L.Control.extend({ onAdd: build });
    var c = new C({ position: position });
    c.addTo(this.map);
    return c;
  };

  Runtime.prototype.addTitle = function () {
    var self = this;
    this.control("topright", function () {
      var d = el("div", "kcn-box kcn-title");
      self.titleEl = el("div", "kcn-title-main");
      self.subtitleEl = el("div", "kcn-title-sub");
      d.appendChild(self.titleEl);
      d.appendChild(self.subtitleEl);
      return d;
    });
  };

  Runtime.prototype.addLangSwitch = function () {
    var self = this;
    this.control("topright", function () {
      var d = el("div", "kcn-box kcn-lang");
      d.setAttribute("role", "group");
      self.langButtons = {};
      ["vi", "en"].forEach(function (l) {
        var b = el("button", "kcn-lang-btn", l.toUpperCase());
        b.type = "button";
        b.setAttribute("data-lang", l);
        b.addEventListener("click", function (e) { e.stopPropagation(); self.setLang(l); });
        self.langButtons[l] = b;
        d.appendChild(b);
      });
      L.DomEvent.disableClickPropagation(d);
      return d;
    });
  };

  Runtime.prototype.addSearch = function () {
    var self = this, cfg = this.spec.search;
    if (!cfg) return;
    var ls = this.layers[cfg.layer];
    this.control("topleft", function () {
      var d = el("div", "kcn-box kcn-search");
      var input = el("input");
      input.type = "search";
      var list = el("ul", "kcn-search-results");
      self.searchInput = input;
      function run() {
        var q = normalize(input.value.trim());
        list.textContent = "";
        if (!q) return;
        var hits = [];
        for (var i = 0; i < ls.n && hits.length < 8; i++) {
          var names = cfg.fields.map(function (f) { return prop(ls, f, i); }).filter(function (x) { return x; });
          if (names.some(function (x) { return normalize(x).indexOf(q) >= 0; })) hits.push(i);
        }
        if (!hits.length) list.appendChild(el("li", "kcn-search-none", self.s("no_match")));
        hits.forEach(function (i) {
          var name = prop(ls, self.tr(ls.popup.title), i) || prop(ls, ls.popup.title.vi, i);
          var li = el("li", "kcn-search-hit", name);
          li.addEventListener("click", function () {
            self.zoomTo(ls, i);
            // clear after the click has bubbled: Leaflet ignores clicks inside controls by walking up from the
            // target, which must still be in the document
            setTimeout(function () { list.textContent = ""; }, 0);
          });
          list.appendChild(li);
        });
        return hits;
      }
      input.addEventListener("input", run);
      input.addEventListener("keydown", function (e) {
        if (e.key === "Enter") {
          var hits = run();
          if (hits && hits.length) { self.zoomTo(ls, hits[0]); list.textContent = ""; }
        }
      });
      d.appendChild(input);
      d.appendChild(list);
      L.DomEvent.disableClickPropagation(d);
      L.DomEvent.disableScrollPropagation(d);
      return d;
    });
  };

  Runtime.prototype.zoomTo = function (ls, i) {
    if (!hasGeom(ls.G, i)) return;
    if (!this.map.hasLayer(ls.group)) ls.group.addTo(this.map);
    var b = this.featureBounds(ls, i);
    this.map.fitBounds(b, { maxZoom: 15 });
    this.openPopup(ls, i, b.getCenter());
  };

  Runtime.prototype.addLegend = function () {
    var self = this;
    this.control("bottomright", function () {
      self.legendEl = el("div", "kcn-box kcn-legend");
      L.DomEvent.disableScrollPropagation(self.legendEl);
      return self.legendEl;
    });
  };

  Runtime.prototype.renderLegend = function () {
    var self = this, d = this.legendEl;
    d.textContent = "";
    d.appendChild(el("div", "kcn-legend-title", this.s("legend")));
    this.spec.legend.forEach(function (block) {
      var ls = self.layers[block.layer];
      if (!ls) return;
      d.appendChild(el("div", "kcn-legend-block", self.tr(block.title)));
      ls.classes.forEach(function (c) {
        if (block.only && block.only.indexOf(c.key) < 0) return;
        var row = el("div", "kcn-legend-row");
        row.setAttribute("data-key", c.key);
        var sw = el("span", "kcn-swatch kcn-swatch-" + c.kind);
        var st = c.style;
        if (c.kind === "line") {
          sw.style.borderTopColor = st.color;
          sw.style.borderTopWidth = Math.max(2, st.weight || 2) + "px";
        } else {
          sw.style.background = c.kind === "outline" ? "transparent" : st.fillColor || st.color;
          sw.style.opacity = c.kind === "outline" ? 1 : Math.max(0.35, st.fillOpacity === undefined ? 1 : st.fillOpacity);
          sw.style.borderColor = st.color || st.fillColor;
          sw.style.borderWidth = Math.min(3, Math.max(1, st.weight || 1)) + "px";
        }
        row.appendChild(sw);
        row.appendChild(el("span", "kcn-legend-label", self.tr(c.label)));
        d.appendChild(row);
      });
    });
  };

  Runtime.prototype.addPanels = function () {
    var self = this;
    if (!this.spec.panels || !this.spec.panels.length) return;
    this.control("bottomleft", function () {
      self.panelEl = el("div", "kcn-box kcn-panels");
      L.DomEvent.disableClickPropagation(self.panelEl);
      L.DomEvent.disableScrollPropagation(self.panelEl);
      return self.panelEl;
    });
  };

  Runtime.prototype.renderPanels = function () {
    var self = this;
    if (!this.panelEl) return;
    this.panelEl.textContent = "";
    this.spec.panels.forEach(function (p) {
      var det = el("details", "kcn-panel");
      det.appendChild(el("summary", null, self.tr(p.title) + " (" + p.items.length + ")"));
      var ul = el("ul");
      p.items.forEach(function (it) { ul.appendChild(el("li", null, self.tr(it))); });
      if (!p.items.length) ul.appendChild(el("li", null, self.tr(p.empty)));
      det.appendChild(ul);
      self.panelEl.appendChild(det);
    });
  };

  Runtime.prototype.addSlider = function () {
    var self = this, cfg = this.spec.slider;
    if (!cfg) return;
    var ls = this.layers[cfg.layer];
    this.control("bottomleft", function () {
      var d = el("div", "kcn-box kcn-slider");
      self.sliderLabel = el("div", "kcn-slider-label");
      var input = el("input");
      input.type = "range";
      input.min = 0;
      input.max = cfg.dates.length - 1;
      input.step = 1;
      input.value = cfg.start;
      self.sliderInput = input;
      input.addEventListener("input", function () { self.applyStep(ls, cfg, Number(input.value)); });
      d.appendChild(self.sliderLabel);
      d.appendChild(input);
      L.DomEvent.disableClickPropagation(d);
      return d;
    });
    this.step = cfg.start;
  };

  Runtime.prototype.applyStep = function (ls, cfg, j) {
    var state = cfg.base.slice();
    for (var s = 1; s <= j; s++) {
      var ch = cfg.changes[s];
      for (var q = 0; q < ch.length; q += 2) state[ch[q]] = ch[q + 1];
    }
    for (var k = 0; k < ls.n; k++) ls.cur[k] = state[k];
    if (this.map.hasLayer(ls.group)) ls.group._paint();
    this.step = j;
    this.renderSliderLabel();
    this.refreshPopup();
  };

  Runtime.prototype.renderSliderLabel = function () {
    if (!this.sliderLabel) return;
    var d = this.spec.slider.dates[this.step];
    this.sliderLabel.textContent = this.s("timeline") + ": " + this.fmt(d, "date");
  };

  Runtime.prototype.buildLayerControl = function () {
    var self = this, base = {}, overlays = {};
    if (this.layerControl) this.map.removeControl(this.layerControl);
    this.map.eachLayer(function (l) {
      if (l instanceof L.TileLayer) base[esc(l.options.kcnName || "OpenStreetMap")] = l;
    });
    this.spec.layers.forEach(function (ls) {
      if (ls.control !== false) overlays[esc(self.tr(ls.name))] = ls.group;
    });
    this.layerControl = L.control.layers(base, overlays, { collapsed: this.spec.collapsed !== false, position: "topright" });
    this.layerControl.addTo(this.map);
  };

  Runtime.prototype.setAttribution = function () {
    var ac = this.map.attributionControl;
    if (this.attribution) ac.removeAttribution(this.attribution);
    this.attribution = esc(this.tr(this.spec.attribution));
    ac.addAttribution(this.attribution);
  };

  Runtime.prototype.setLang = function (lang) {
    if (lang !== "vi" && lang !== "en") return;
    this.lang = lang;
    document.documentElement.setAttribute("lang", lang);
    this.titleEl.textContent = this.tr(this.spec.title);
    this.subtitleEl.textContent = this.spec.subtitle ? this.tr(this.spec.subtitle) : "";
    for (var l in this.langButtons) {
      this.langButtons[l].setAttribute("aria-pressed", l === lang ? "true" : "false");
    }
    if (this.searchInput) this.searchInput.placeholder = this.s("search");
    this.renderLegend();
    this.renderPanels();
    this.renderSliderLabel();
    if (this.layerControl) this.buildLayerControl();
    this.setAttribution();
    this.refreshPopup();
  };

  Runtime.prototype.count = function (id) {
    var ls = this.layers[id];
    if (!ls || !this.map.hasLayer(ls.group)) return 0;
    return ls.drawable;
  };

  Runtime.prototype.total = function (id) {
    var ls = this.layers[id];
    return ls ? ls.n : 0;
  };

  // The page data: the main JSON element, with its big arrays kept in a second element (one-byte text,
  // faster to read and parse) and referenced as {"$kcn": index}; put them back in place.
  function resolve(v, side) {
    if (v === null || typeof v !== "object") return v;
    if (Array.isArray(v)) {
      for (var i = 0; i < v.length; i++) {
        var x = v[i];
        if (x !== null && typeof x === "object") v[i] = resolve(x, side);
      }
      return v;
    }
    if (typeof v.$kcn === "number" && Object.keys(v).length === 1) return side[v.$kcn];
    for (var k in v) if (Object.prototype.hasOwnProperty.call(v, k)) v[k] = resolve(v[k], side);
    return v;
  }

  function load(id) {
    var spec = JSON.parse(document.getElementById(id).textContent);
    var el = document.querySelector('script[data-kcn-arrays="' + id + '"]');
    return el ? resolve(spec, JSON.parse(el.textContent)) : spec;
  }

  window.KcnGisRuntime = function (map, spec) {
    var rt = new Runtime(map, spec);
    rt.setLang(spec.lang);
    window.kcnGis = rt;
    window.kcnGisMaps = window.kcnGisMaps || [];
    window.kcnGisMaps.push(rt);
    return rt;
  };
  window.KcnGisRuntime.load = load;
})();
