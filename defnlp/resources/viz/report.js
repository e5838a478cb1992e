/* defnlp HTML report: inlined into every page. No network, no data in script: everything it
   needs is in the DOM (data-e, data-head/data-tail, data-links attributes written by Python).
   - draws relation arcs (SVG) between the first pieces of the head and tail mentions
     (an arc's label shows when it is highlighted; the relation list names them all);
   - hovering a mention, a relation or an alignment link highlights what goes with it
     (its relations; its counterpart on the other side of an aligned FR/EN pair);
   - legend buttons switch a label's highlighting on and off.
   Safe to include several times (notebooks): the second copy only initialises new roots. */
(function () {
  "use strict";
  if (window.defnlpViz) { window.defnlpViz.init(); return; }

  var SVG = "http://www.w3.org/2000/svg";
  var lit = [];              // elements highlighted now

  function clearHighlight() {
    for (var i = 0; i < lit.length; i++) lit[i].classList.remove("hl", "hl-src");
    lit = [];
  }
  function light(el, cls) { el.classList.add(cls || "hl"); lit.push(el); }

  /* ---- per-document index: entity -> its pieces, relation -> arc and list item ---- */
  function docIndex(doc) {
    if (doc._dnv) return doc._dnv;
    var idx = { pieces: {}, rels: [], byEntity: {} };
    var ents = doc.querySelectorAll(".dnv-text [data-e]");
    for (var i = 0; i < ents.length; i++) {
      var k = ents[i].getAttribute("data-e");
      (idx.pieces[k] = idx.pieces[k] || []).push(ents[i]);
    }
    var items = doc.querySelectorAll(".dnv-rels li[data-r]");
    for (var j = 0; j < items.length; j++) {
      var li = items[j];
      var rel = { li: li, head: li.getAttribute("data-head"), tail: li.getAttribute("data-tail"),
                  label: li.getAttribute("data-label"), symmetric: li.hasAttribute("data-symmetric"), arc: null };
      idx.rels.push(rel);
      (idx.byEntity[rel.head] = idx.byEntity[rel.head] || []).push(rel);
      if (rel.tail !== rel.head) (idx.byEntity[rel.tail] = idx.byEntity[rel.tail] || []).push(rel);
    }
    doc._dnv = idx;
    return idx;
  }

  /* ---- relation arcs ---- */
  function el(name, attrs) {
    var node = document.createElementNS(SVG, name);
    for (var key in attrs) node.setAttribute(key, attrs[key]);
    return node;
  }
  function anchor(piece, base) {
    var rects = piece.getClientRects();
    var r = rects.length ? rects[0] : piece.getBoundingClientRect();
    return { x: r.left + r.width / 2 - base.left, y: r.top - base.top };
  }
  function drawArcs(doc) {
    var idx = docIndex(doc);
    var svg = doc.querySelector(".dnv-arcs");
    if (!svg) return 0;
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    if (!idx.rels.length) return 0;
    var wrap = svg.parentNode;
    var base = wrap.getBoundingClientRect();
    svg.setAttribute("width", String(wrap.offsetWidth));
    svg.setAttribute("height", String(wrap.offsetHeight));
    var drawn = 0;
    for (var i = 0; i < idx.rels.length; i++) {
      var rel = idx.rels[i];
      var hp = idx.pieces[rel.head], tp = idx.pieces[rel.tail];
      if (!hp || !tp) continue;
      var a = anchor(hp[0], base), b = anchor(tp[0], base);
      var rise = 8 + Math.min(14, Math.abs(b.x - a.x) / 12);
      var top = Math.min(a.y, b.y) - rise;
      var g = el("g", { "class": "dnv-arc", "data-r": rel.li.getAttribute("data-r") });
      g.appendChild(el("path", { d: "M" + a.x + " " + a.y + " C" + a.x + " " + top + " " + b.x + " " + top + " " + b.x + " " + b.y }));
      g.appendChild(el("path", { "class": "tip", d: "M" + (b.x - 3.5) + " " + (b.y - 6) + " L" + b.x + " " + b.y + " L" + (b.x + 3.5) + " " + (b.y - 6) + "Z" }));
      if (rel.symmetric) {
        g.appendChild(el("path", { "class": "tip", d: "M" + (a.x - 3.5) + " " + (a.y - 6) + " L" + a.x + " " + a.y + " L" + (a.x + 3.5) + " " + (a.y - 6) + "Z" }));
      }
      var label = el("text", { x: String((a.x + b.x) / 2), y: String(top + rise * 0.25 - 2) });
      label.textContent = rel.label;
      g.appendChild(label);
      svg.appendChild(g);
      rel.arc = g;
      drawn++;
    }
    return drawn;
  }
  function drawAll(root) {
    var docs = root.querySelectorAll(".dnv-doc");
    var arcs = 0;
    for (var i = 0; i < docs.length; i++) arcs += drawArcs(docs[i]);
    root.setAttribute("data-arcs", String(arcs));
    root.setAttribute("data-ready", "1");
  }

  /* ---- hover: relations of a mention, mentions of a relation, counterparts of a link ---- */
  function highlightRelation(rel, idx) {
    light(rel.li);
    if (rel.arc) light(rel.arc);
    [rel.head, rel.tail].forEach(function (k) { (idx.pieces[k] || []).forEach(function (p) { light(p); }); });
  }
  function pairIndex(pair) {
    if (pair._dnv) return pair._dnv;
    var byLink = {};
    var nodes = pair.querySelectorAll("[data-links]");
    for (var i = 0; i < nodes.length; i++) {
      var ids = nodes[i].getAttribute("data-links").split(" ");
      for (var j = 0; j < ids.length; j++) (byLink[ids[j]] = byLink[ids[j]] || []).push(nodes[i]);
    }
    pair._dnv = byLink;
    return byLink;
  }
  function onOver(event) {
    var target = event.target;
    if (!(target instanceof Element) || !target.closest(".dnv")) return;
    clearHighlight();
    var linked = target.closest("[data-links]");
    var pair = linked && linked.closest(".dnv-pair");
    if (pair) {
      var byLink = pairIndex(pair);
      linked.getAttribute("data-links").split(" ").forEach(function (id) {
        (byLink[id] || []).forEach(function (node) { light(node); });
      });
      light(linked, "hl-src");
    }
    var doc = target.closest(".dnv-doc");
    if (!doc) return;
    var idx = docIndex(doc);
    var item = target.closest(".dnv-rels li[data-r]");
    if (item) {
      var rel = idx.rels[Number(item.getAttribute("data-r"))];
      if (rel) highlightRelation(rel, idx);
      return;
    }
    var mention = target.closest(".ent[data-e]");
    if (mention) {
      (idx.byEntity[mention.getAttribute("data-e")] || []).forEach(function (rel) { highlightRelation(rel, idx); });
    }
  }

  /* ---- legend: switch a label on and off ---- */
  function onClick(event) {
    var key = event.target instanceof Element && event.target.closest(".dnv-key");
    if (!key) return;
    var root = key.closest(".dnv");
    var cls = "off-" + key.getAttribute("data-class");
    var off = root.classList.toggle(cls);
    key.setAttribute("aria-pressed", off ? "false" : "true");
    drawAll(root);
  }

  var pending = null;
  function redrawSoon() {
    if (pending) return;
    pending = window.requestAnimationFrame(function () {
      pending = null;
      var roots = document.querySelectorAll(".dnv");
      for (var i = 0; i < roots.length; i++) drawAll(roots[i]);
    });
  }

  function init() {
    var roots = document.querySelectorAll(".dnv:not([data-ready])");
    for (var i = 0; i < roots.length; i++) drawAll(roots[i]);
  }

  document.addEventListener("mouseover", onOver);
  document.addEventListener("focusin", onOver);
  document.addEventListener("click", onClick);
  window.addEventListener("resize", redrawSoon);
  window.addEventListener("load", redrawSoon);
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(redrawSoon);
  window.defnlpViz = { init: init, redraw: redrawSoon };
  init();
})();
