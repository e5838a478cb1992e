/* defnlp HTML report: inlined into every page. No network, no data in script: everything it
   needs is in the DOM (data-e, data-r/data-head/data-tail, data-links, data-side attributes
   written by Python).
   - hovering (or focusing) a relation row lights its two mentions and draws one labelled arc
     between them; hovering a mention lights its relation rows (the panel scrolls to the first)
     and draws their arcs. Arcs are drawn only for what is highlighted, so a dense document
     never turns into a tangle of curves; the list names every relation all the time;
   - clicking a row, or a mention in the text, pins its highlight (click again or Escape to
     release); clicking a mention of a row scrolls the text to it;
   - in an aligned FR/EN pair, hovering a mention, a linked sentence or word, or a row of the
     link list lights its counterparts and draws a line to each of them;
   - legend buttons switch a label's highlighting on and off.
   Safe to include several times (notebooks): the second copy only initialises new roots. */
(function () {
  "use strict";
  if (window.defnlpViz) { window.defnlpViz.init(); return; }

  var SVG = "http://www.w3.org/2000/svg";
  var lit = [];              // elements highlighted now
  var overlays = [];         // overlays drawn on now
  var pinned = null;         // the element whose highlight stays after a click
  var current = null;        // what the highlight was computed for (redrawn on resize)
  var placed = [];           // boxes of the arc labels drawn now (labels never cover each other)

  function sideOf(node) {
    var holder = node.closest("[data-side]");
    return holder ? holder.getAttribute("data-side") : "";
  }
  function light(node, cls) { node.classList.add(cls || "hl"); lit.push([node, cls || "hl"]); }
  function clearHighlight() {
    for (var i = 0; i < lit.length; i++) lit[i][0].classList.remove(lit[i][1]);
    lit = [];
    for (var j = 0; j < overlays.length; j++) {
      while (overlays[j].firstChild) overlays[j].removeChild(overlays[j].firstChild);
    }
    overlays = [];
    placed = [];
  }

  /* ---- per card and side: entity -> its pieces, relation index -> row ---- */
  function docIndex(card, side) {
    card._dnv = card._dnv || {};
    if (card._dnv[side]) return card._dnv[side];
    var idx = { pieces: {}, rels: {}, byEntity: {} };
    var ents = card.querySelectorAll(".dnv-text [data-e]");
    for (var i = 0; i < ents.length; i++) {
      if (sideOf(ents[i]) !== side) continue;
      var k = ents[i].getAttribute("data-e");
      (idx.pieces[k] = idx.pieces[k] || []).push(ents[i]);
    }
    var items = card.querySelectorAll(".dnv-rels li[data-r]");
    for (var j = 0; j < items.length; j++) {
      var li = items[j];
      if (sideOf(li) !== side) continue;
      var rel = { li: li, head: li.getAttribute("data-head"), tail: li.getAttribute("data-tail"),
                  label: li.getAttribute("data-label"), symmetric: li.hasAttribute("data-symmetric") };
      idx.rels[li.getAttribute("data-r")] = rel;
      (idx.byEntity[rel.head] = idx.byEntity[rel.head] || []).push(rel);
      if (rel.tail !== rel.head) (idx.byEntity[rel.tail] = idx.byEntity[rel.tail] || []).push(rel);
    }
    card._dnv[side] = idx;
    return idx;
  }
  function pairIndex(pair) {
    if (pair._dnvLinks) return pair._dnvLinks;
    var byLink = {};
    var nodes = pair.querySelectorAll("[data-links]");
    for (var i = 0; i < nodes.length; i++) {
      var ids = nodes[i].getAttribute("data-links").split(" ");
      for (var j = 0; j < ids.length; j++) (byLink[ids[j]] = byLink[ids[j]] || []).push(nodes[i]);
    }
    pair._dnvLinks = byLink;
    return byLink;
  }

  /* ---- the overlay: arcs of highlighted relations, lines of highlighted links ---- */
  function el(name, attrs) {
    var node = document.createElementNS(SVG, name);
    for (var key in attrs) node.setAttribute(key, attrs[key]);
    return node;
  }
  function overlay(card) {
    var svg = card.querySelector(".dnv-arcs");
    if (!svg) return null;
    if (overlays.indexOf(svg) < 0) {
      svg.setAttribute("width", String(card.offsetWidth));
      svg.setAttribute("height", String(card.offsetHeight));
      overlays.push(svg);
    }
    return svg;
  }
  function box(piece, base) {
    var rects = piece.getClientRects();
    var r = rects.length ? rects[0] : piece.getBoundingClientRect();
    return { x: r.left - base.left, y: r.top - base.top, w: r.width, h: r.height };
  }
  function visible(piece, card) {
    var scroller = piece.closest(".dnv-rels");
    return !scroller && piece.getClientRects().length > 0 && card.contains(piece);
  }
  function tip(x, y) {
    return el("path", { "class": "tip", d: "M" + (x - 4) + " " + (y - 7) + " L" + x + " " + y + " L" + (x + 4) + " " + (y - 7) + "Z" });
  }
  function drawArc(card, rel, idx) {
    var svg = overlay(card);
    var hp = idx.pieces[rel.head], tp = idx.pieces[rel.tail];
    if (!svg || !hp || !tp || !visible(hp[0], card) || !visible(tp[0], card)) return;
    var base = card.getBoundingClientRect();
    var a = box(hp[0], base), b = box(tp[0], base);
    var ax = a.x + a.w / 2, bx = b.x + b.w / 2, ay = a.y + 2, by = b.y + 2;
    var rise = 16 + Math.min(36, Math.abs(bx - ax) / 10);
    var top = Math.min(ay, by) - rise;
    var g = el("g", { "class": "dnv-arc", "data-r": rel.li.getAttribute("data-r") });
    g.appendChild(el("path", { d: "M" + ax + " " + ay + " C" + ax + " " + top + " " + bx + " " + top + " " + bx + " " + by }));
    g.appendChild(tip(bx, by));
    if (rel.symmetric) g.appendChild(tip(ax, ay));
    var label = el("text", { x: String((ax + bx) / 2), y: String(0.125 * (ay + by) + 0.75 * top + 4) });
    label.textContent = rel.label;
    g.appendChild(label);
    svg.appendChild(g);
    // a white tag under the label, moved up while it would cover another arc's label
    var bb = label.getBBox(), x = bb.x - 4, y = bb.y - 1, w = bb.width + 8, h = bb.height + 2, shift = 0;
    for (var tries = 0; tries < 12 && placed.some(function (p) {
      return x < p.x + p.w && p.x < x + w && y - shift < p.y + p.h && p.y < y - shift + h;
    }); tries++) shift += h + 2;
    if (shift) label.setAttribute("y", String(Number(label.getAttribute("y")) - shift));
    placed.push({ x: x, y: y - shift, w: w, h: h });
    g.insertBefore(el("rect", { x: String(x), y: String(y - shift), width: String(w), height: String(h), rx: "3" }), label);
  }
  function drawLine(card, from, to) {
    var svg = overlay(card);
    if (!svg || !visible(from, card) || !visible(to, card)) return;
    var base = card.getBoundingClientRect();
    var a = box(from, base), b = box(to, base);
    var leftToRight = a.x < b.x;
    var ax = leftToRight ? a.x + a.w : a.x, bx = leftToRight ? b.x : b.x + b.w;
    var ay = a.y + a.h / 2, by = b.y + b.h / 2, mid = (ax + bx) / 2;
    svg.appendChild(el("path", { "class": "dnv-linkline", d: "M" + ax + " " + ay + " C" + mid + " " + ay + " " + mid + " " + by + " " + bx + " " + by }));
  }

  /* ---- what goes with an element ---- */
  function highlightRelation(card, rel, idx) {
    light(rel.li);
    [rel.head, rel.tail].forEach(function (k) { (idx.pieces[k] || []).forEach(function (p) { light(p); }); });
    drawArc(card, rel, idx);
  }
  function scrollPanel(li) {
    var panel = li.closest("aside.dnv-rels");
    if (!panel || panel.scrollHeight <= panel.clientHeight) return;
    var pr = panel.getBoundingClientRect(), lr = li.getBoundingClientRect();
    if (lr.top < pr.top + 24 || lr.bottom > pr.bottom) panel.scrollTop += lr.top - pr.top - pr.height / 3;
  }
  function highlight(target) {
    var card = target.closest(".dnv-card");
    if (!card) return false;
    var any = false;
    var linked = target.closest("[data-links]");
    var pair = linked && linked.closest(".dnv-pair");
    if (pair) {
      var byLink = pairIndex(pair);
      var inText = !!linked.closest(".dnv-text");
      linked.getAttribute("data-links").split(" ").forEach(function (id) {
        var nodes = byLink[id] || [];
        var fr = null, en = null;
        nodes.forEach(function (node) {
          light(node);
          if (!node.closest(".dnv-text")) return;
          var side = sideOf(node);
          if (side === "fr" && !fr) fr = node;
          if (side === "en" && !en) en = node;
          if (inText && sideOf(linked) !== side) drawLine(card, linked, node);
        });
        if (!inText && fr && en) drawLine(card, fr, en);
      });
      light(linked, "hl-src");
      any = true;
    }
    var side = sideOf(target);
    var item = target.closest(".dnv-rels li[data-r]");
    if (item) {
      var idx = docIndex(card, side);
      var rel = idx.rels[item.getAttribute("data-r")];
      if (rel) { highlightRelation(card, rel, idx); any = true; }
      return any;
    }
    var mention = target.closest(".dnv-text [data-e]");
    if (mention) {
      var idx2 = docIndex(card, side);
      var rels = idx2.byEntity[mention.getAttribute("data-e")] || [];
      rels.forEach(function (r) { highlightRelation(card, r, idx2); any = true; });
      if (rels.length) scrollPanel(rels[0].li);
    }
    return any;
  }
  function refresh(target) {
    clearHighlight();
    current = target;
    if (target && highlight(target)) return;
    if (pinned && pinned.isConnected) { current = pinned; highlight(pinned); }
  }

  /* ---- events ---- */
  function onOver(event) {
    var target = event.target;
    if (!(target instanceof Element) || !target.closest(".dnv")) return;
    refresh(target);
  }
  function pin(node) {
    if (pinned) pinned.classList.remove("pin");
    pinned = pinned === node ? null : node;
    if (pinned) pinned.classList.add("pin");
    refresh(pinned);
  }
  function flash(node) {
    node.classList.remove("flash");
    void node.offsetWidth;  // restart the animation
    node.classList.add("flash");
    window.setTimeout(function () { node.classList.remove("flash"); }, 1600);
  }
  function onClick(event) {
    var target = event.target;
    if (!(target instanceof Element) || !target.closest(".dnv")) return;
    var key = target.closest(".dnv-key");
    if (key) {
      var root = key.closest(".dnv");
      var off = root.classList.toggle("off-" + key.getAttribute("data-class"));
      key.setAttribute("aria-pressed", off ? "false" : "true");
      refresh(current);
      return;
    }
    var go = target.closest(".dnv-rels [data-goto]");
    if (go) {
      var card = go.closest(".dnv-card");
      var piece = (docIndex(card, sideOf(go)).pieces[go.getAttribute("data-goto")] || [])[0];
      var row = go.closest("li");
      if (pinned !== row) pin(row);
      if (piece) {
        piece.scrollIntoView({ block: "center", inline: "nearest" });
        flash(piece);
        refresh(row);
      }
      return;
    }
    var pinnable = target.closest(".dnv-rels li[data-r], .dnv-links li[data-links], .dnv-text [data-e], .dnv-text [data-links]");
    if (pinnable) { pin(pinnable); return; }
    if (pinned) pin(pinned);
  }
  function onKey(event) {
    if (event.key === "Escape" && pinned) pin(pinned);
    if ((event.key === "Enter" || event.key === " ") && event.target instanceof Element &&
        event.target.matches(".dnv-rels li[data-r], .dnv-links li[data-links]")) {
      event.preventDefault();
      pin(event.target);
    }
  }

  var pending = null;
  function redrawSoon() {
    if (pending) return;
    pending = window.requestAnimationFrame(function () { pending = null; refresh(current); });
  }

  /* data-relations: relation rows; data-arcs: relations whose two mentions are in the text,
     i.e. whose arc can be drawn when highlighted (the same number unless something is wrong) */
  function init() {
    var roots = document.querySelectorAll(".dnv:not([data-ready])");
    for (var i = 0; i < roots.length; i++) {
      var rows = 0, drawable = 0, cards = roots[i].querySelectorAll(".dnv-card");
      for (var c = 0; c < cards.length; c++) {
        ["", "fr", "en"].forEach(function (side) {
          var idx = docIndex(cards[c], side);
          for (var r in idx.rels) {
            rows++;
            if (idx.pieces[idx.rels[r].head] && idx.pieces[idx.rels[r].tail]) drawable++;
          }
        });
      }
      roots[i].setAttribute("data-relations", String(rows));
      roots[i].setAttribute("data-arcs", String(drawable));
      roots[i].setAttribute("data-ready", "1");
    }
  }

  document.addEventListener("mouseover", onOver);
  document.addEventListener("focusin", onOver);
  document.addEventListener("click", onClick);
  document.addEventListener("keydown", onKey);
  window.addEventListener("resize", redrawSoon);
  window.defnlpViz = { init: init, redraw: redrawSoon, highlight: refresh };
  init();
})();
