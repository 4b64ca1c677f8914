// The backlog board: reads the JSON embedded in the page and draws it. Every node is built with
// createElement/textContent: no task text ever becomes markup. Columns show PAGE cards at first and
// more on demand, so 10,000 tasks lay out as fast as 100.
(function () {
  "use strict";
  var PAGE = 50;
  var STATUS_COLUMNS = [
    ["pending", "Pending", true], ["active", "Active", true], ["waiting", "Waiting", false],
    ["completed", "Completed", true], ["deleted", "Deleted", false], ["recurring", "Recurring", false]
  ];
  var CLOSED = { completed: true, deleted: true };
  var PRIORITY_RANK = { H: 0, M: 1, L: 2 };
  var NO_PROJECT = "\u0000none";
  var perf = (window.boardPerf = { renders: 0 });

  var data, tasks, byUuid, byId, order, presentColumns;
  var view = { by: "status", q: "", project: "", tag: "", closed: true, shown: {}, open: null };
  var lastBuckets = {};

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function text(value) { return document.createTextNode(String(value)); }
  function cmp(a, b) { return a < b ? -1 : a > b ? 1 : 0; }

  // ------------------------------------------------------------------ data
  function load(d) {
    data = d;
    tasks = d.tasks || [];
    byUuid = {};
    byId = {};
    presentColumns = {};
    for (var i = 0; i < tasks.length; i++) {
      var t = tasks[i];
      byUuid[t.uuid] = t;
      if (!byId[t.id]) byId[t.id] = t;
      t.tags = t.tags || [];
      t._closed = !!CLOSED[t.status];
      t._text = ("#" + t.id + " " + t.description + " " + (t.project || "") + " " + t.tags.join(" ") + " " +
        (t.agent || "")).toLowerCase();
      t._tags = t.tags.map(function (x) { return x.toLowerCase(); });
      presentColumns[t.col] = true;
    }
    var open = tasks.filter(function (t) { return !t._closed; });
    var closed = tasks.filter(function (t) { return t._closed; });
    open.sort(function (a, b) {
      var pa = a.priority in PRIORITY_RANK ? PRIORITY_RANK[a.priority] : 3;
      var pb = b.priority in PRIORITY_RANK ? PRIORITY_RANK[b.priority] : 3;
      return pa - pb || cmp(a.due || "~", b.due || "~") || a.id - b.id;
    });
    closed.sort(function (a, b) { return cmp(b.end || b.modified || "", a.end || a.modified || "") || a.id - b.id; });
    order = open.concat(closed);
    fillSelect($("project"), "All projects", count(tasks, function (t) { return t.project ? [t.project] : []; }));
    fillSelect($("tag"), "All tags", count(tasks, function (t) { return t.tags; }));
    $("title").textContent = d.title || "backlog";
    document.title = d.title || "backlog";
    var where = d.commit ? "at " + (d.at || "") + " (" + d.commit.slice(0, 10) + ")" : "working tree";
    $("meta").textContent = tasks.length.toLocaleString("en") + " tasks · " + where + " · " + (d.live ? "live" : "generated " +
      shortDate(d.generated));
    var broken = $("broken");
    broken.hidden = !(d.broken && d.broken.length);
    broken.textContent = d.broken && d.broken.length ?
      "Task files that do not parse (not shown):\n" + d.broken.join("\n") : "";
  }

  function count(list, values) {
    var seen = {};
    list.forEach(function (t) { values(t).forEach(function (v) { seen[v] = (seen[v] || 0) + 1; }); });
    return Object.keys(seen).sort().map(function (k) { return [k, seen[k]]; });
  }

  function fillSelect(select, all, entries) {
    var keep = select.value;
    select.replaceChildren(el("option", null, all));
    select.firstChild.value = "";
    entries.forEach(function (e) {
      var option = el("option", null, e[0] + " (" + e[1] + ")");
      option.value = e[0];
      select.appendChild(option);
    });
    select.value = keep;
    if (select.value !== keep) select.value = "";
  }

  // ------------------------------------------------------------------ filter
  function parseFilter(q) {
    var f = { words: [], project: [], tags: [], notTags: [], agent: [], status: [], priority: [], ids: [] };
    q.trim().split(/\s+/).forEach(function (w) {
      var m, lw = w.toLowerCase();
      if (!w) return;
      if ((m = /^project:(.*)$/i.exec(w))) f.project.push(m[1].toLowerCase());
      else if ((m = /^(?:\+|tags?:)(.+)$/i.exec(w))) f.tags.push(m[1].toLowerCase());
      else if ((m = /^-(.+)$/.exec(w))) f.notTags.push(m[1].toLowerCase());
      else if ((m = /^agent:(.*)$/i.exec(w))) f.agent.push(m[1].toLowerCase());
      else if ((m = /^status:(.+)$/i.exec(w))) f.status.push(m[1].toLowerCase());
      else if ((m = /^priority:(.*)$/i.exec(w))) f.priority.push(m[1].toUpperCase());
      else if ((m = /^#(\d+)$/.exec(w))) f.ids.push(+m[1]);
      else f.words.push(lw);
    });
    return f;
  }

  function inProject(project, wanted) {
    if (wanted === "") return !project;
    project = (project || "").toLowerCase();
    return project === wanted || project.indexOf(wanted + ".") === 0;
  }

  function matches(t, f) {
    var i;
    if (!view.closed && t._closed) return false;
    if (view.project && !inProject(t.project, view.project.toLowerCase())) return false;
    if (view.tag && t.tags.indexOf(view.tag) < 0) return false;
    for (i = 0; i < f.words.length; i++) if (t._text.indexOf(f.words[i]) < 0) return false;
    for (i = 0; i < f.tags.length; i++) if (t._tags.indexOf(f.tags[i]) < 0) return false;
    for (i = 0; i < f.notTags.length; i++) if (t._tags.indexOf(f.notTags[i]) >= 0) return false;
    if (f.project.length && !f.project.some(function (p) { return inProject(t.project, p); })) return false;
    if (f.agent.length && f.agent.indexOf((t.agent || "").toLowerCase()) < 0) return false;
    if (f.status.length && f.status.indexOf(t.col) < 0 && f.status.indexOf(t.status) < 0) return false;
    if (f.priority.length && f.priority.indexOf(t.priority || "") < 0) return false;
    if (f.ids.length && f.ids.indexOf(t.id) < 0) return false;
    return true;
  }

  // ------------------------------------------------------------------ columns and cards
  function columnKey(t) { return view.by === "project" ? (t.project || NO_PROJECT) : t.col; }

  function columnDefs(buckets) {
    if (view.by === "status") {
      return STATUS_COLUMNS.filter(function (c) {
        return (c[2] || presentColumns[c[0]]) && (view.closed || !CLOSED[c[0]]);
      }).map(function (c) { return { key: c[0], title: c[1] }; });
    }
    return Object.keys(buckets).sort(function (a, b) {
      return (a === NO_PROJECT) - (b === NO_PROJECT) || cmp(a, b);
    }).map(function (k) { return { key: k, title: k === NO_PROJECT ? "(no project)" : k }; });
  }

  function render() {
    var t0 = performance.now();
    var f = parseFilter(view.q);
    var buckets = {}, total = 0, i;
    if (view.by === "status") STATUS_COLUMNS.forEach(function (c) { buckets[c[0]] = []; });
    for (i = 0; i < order.length; i++) {
      var t = order[i];
      if (!matches(t, f)) continue;
      var key = columnKey(t);
      (buckets[key] || (buckets[key] = [])).push(t);
      total++;
    }
    lastBuckets = buckets;
    var fragment = document.createDocumentFragment();
    columnDefs(buckets).forEach(function (c) { fragment.appendChild(columnNode(c, buckets[c.key] || [])); });
    $("board").replaceChildren(fragment);
    $("count").textContent = total === tasks.length ? total + " tasks" : total + " of " + tasks.length + " tasks";
    perf.lastRender = performance.now() - t0;
    perf.renders++;
    perf.shownCards = document.querySelectorAll(".card").length;
    perf.matching = total;
  }

  function columnNode(c, list) {
    var column = el("section", "column");
    column.dataset.col = c.key;
    var head = el("h2");
    head.appendChild(el("span", "name", c.title));
    head.appendChild(el("span", "n", list.length));
    column.appendChild(head);
    var cards = el("div", "cards");
    var limit = view.shown[c.key] || PAGE;
    for (var i = 0; i < list.length && i < limit; i++) cards.appendChild(cardNode(list[i]));
    if (!list.length) cards.appendChild(el("div", "empty", "No tasks"));
    if (list.length > limit) {
      var more = el("button", "more", "Show " + Math.min(PAGE, list.length - limit) + " more of " +
        (list.length - limit));
      more.type = "button";
      more.addEventListener("click", function () {
        view.shown[c.key] = limit + PAGE;
        column.replaceWith(columnNode(c, lastBuckets[c.key] || []));
      });
      cards.appendChild(more);
    }
    column.appendChild(cards);
    return column;
  }

  function cardNode(t) {
    var card = el("article", "card" + (t.priority in PRIORITY_RANK ? " p-" + t.priority : "") +
      (t._closed ? " closed" : ""));
    card.tabIndex = 0;
    card.dataset.uuid = t.uuid;
    var top = el("div", "row");
    top.appendChild(el("span", "id", "#" + t.id));
    if (t.priority in PRIORITY_RANK) top.appendChild(el("span", "badge prio-" + t.priority, t.priority));
    if (t.due) top.appendChild(el("span", "due" + (overdue(t) ? " overdue" : ""), "due " + shortDate(t.due)));
    if (view.by === "project" && t.col !== "pending") top.appendChild(el("span", "badge st", t.col));
    if (t.has_doc) { var doc = el("span", "doc", "spec"); doc.title = "has a spec"; top.appendChild(doc); }
    card.appendChild(top);
    card.appendChild(el("div", "desc", t.description));
    var meta = el("div", "row");
    if (t.project && view.by !== "project") meta.appendChild(el("span", "project", t.project));
    t.tags.forEach(function (tag) { meta.appendChild(el("span", "tag", "+" + tag)); });
    if (t.agent) { var who = el("span", "badge holder", "held by " + t.agent); meta.appendChild(who); }
    if (meta.childNodes.length) card.appendChild(meta);
    return card;
  }

  function overdue(t) { return !t._closed && t.due && t.due < new Date().toISOString(); }

  function shortDate(value) {
    var s = String(value || "");
    if (/^\d{4}-\d\d-\d\dT00:00:00Z$/.test(s)) return s.slice(0, 10);
    if (/^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(s)) return s.slice(0, 10) + " " + s.slice(11, 16);
    return s;
  }

  // ------------------------------------------------------------------ the task panel
  var FIELDS = ["col", "project", "priority", "tags", "due", "wait", "scheduled", "start", "end", "agent", "lease",
    "recur", "until", "depends", "parent", "entry", "modified", "uuid"];
  var LABELS = { col: "status", agent: "held by", depends: "depends on" };

  function openTask(t, keepScroll) {
    view.open = t.uuid;
    var sheet = document.querySelector("#panel .sheet");
    var scroll = sheet.scrollTop;
    $("panel-title").textContent = "#" + t.id + " " + t.description;
    var fields = $("panel-fields");
    fields.replaceChildren();
    FIELDS.forEach(function (name) {
      var value = t[name];
      if (value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length)) return;
      fields.appendChild(el("dt", null, LABELS[name] || name));
      var dd = el("dd");
      if (name === "depends" || name === "parent") {
        [].concat(value).forEach(function (id, i) {
          if (i) dd.appendChild(text(", "));
          var target = byId[id];
          if (target) {
            var a = el("a", null, "#" + id + " " + target.description);
            a.tabIndex = 0;
            a.addEventListener("click", function () { openTask(target); });
            dd.appendChild(a);
          } else dd.appendChild(text(typeof id === "number" ? "#" + id : id));
        });
      } else if (name === "tags") dd.textContent = value.map(function (x) { return "+" + x; }).join(" ");
      else if (/^(due|wait|scheduled|start|end|until|entry|modified|lease)$/.test(name)) dd.textContent = shortDate(value);
      else dd.textContent = value;
      fields.appendChild(dd);
    });
    Object.keys(t.extras || {}).sort().forEach(function (name) {
      fields.appendChild(el("dt", null, name));
      var v = t.extras[name];
      fields.appendChild(el("dd", null, typeof v === "string" ? v : JSON.stringify(v)));
    });
    var spec = $("panel-spec");
    spec.replaceChildren();
    if (t.body && t.body.trim()) renderMarkdown(t.body, spec);
    else spec.appendChild(el("p", "none", "No spec."));
    var notes = $("panel-notes");
    notes.replaceChildren();
    (t.annotations || []).forEach(function (n) {
      var li = el("li");
      li.appendChild(el("span", "meta", shortDate(n.entry) + " "));
      li.appendChild(text(n.description));
      notes.appendChild(li);
    });
    $("panel-notes-box").hidden = !(t.annotations && t.annotations.length);
    showHistory(t, keepScroll);
    $("panel").hidden = false;
    if (keepScroll) sheet.scrollTop = scroll; else sheet.scrollTop = 0;
    if (window.history && history.replaceState) history.replaceState(null, "", "#task=" + t.id);
    if (!keepScroll) $("close").focus();
  }

  function closeTask() {
    view.open = null;
    $("panel").hidden = true;
    if (window.history && history.replaceState) history.replaceState(null, "", location.pathname + location.search);
  }

  function showHistory(t, keep) {
    var list = $("panel-history");
    var embedded = data.history && data.history[t.uuid];
    if (!(data.live && keep)) list.replaceChildren();  // a live redraw keeps the old list until the new one
    if (embedded) return drawHistory(list, embedded);
    if (data.live) {
      if (!keep) list.appendChild(el("li", "none", "Loading…"));
      fetch("api/history?uuid=" + encodeURIComponent(t.uuid), { cache: "no-store" })
        .then(function (r) { return r.json(); })
        .then(function (entries) {
          if (view.open !== t.uuid) return;
          list.replaceChildren();
          if (Array.isArray(entries)) drawHistory(list, entries);
          else list.appendChild(el("li", "none", String(entries && entries.error)));
        })
        .catch(function () { list.replaceChildren(el("li", "none", "The board server did not answer.")); });
      return;
    }
    list.appendChild(el("li", "none", "Not embedded in this page (it holds the history of the " +
      data.history_embedded + " most recently modified tasks): run `backlog-git history " + t.id +
      "`, or `backlog-git board --serve`."));
  }

  function drawHistory(list, entries) {
    if (!entries.length) { list.appendChild(el("li", "none", "No commits touched this task.")); return; }
    entries.forEach(function (e) {
      var li = el("li");
      var head = el("div");
      head.appendChild(el("span", "when", shortDate(e.time) + " · "));
      head.appendChild(el("span", "op", e.op));
      head.appendChild(text(" by " + e.writer + " · "));
      head.appendChild(el("span", "when", String(e.commit).slice(0, 10)));
      li.appendChild(head);
      li.appendChild(el("div", null, e.subject));
      var changes = Object.keys(e.changes || {}).filter(function (k) { return k !== "modified"; });
      if (changes.length) {
        var ul = el("ul");
        changes.forEach(function (k) {
          var item = el("li");
          item.appendChild(el("span", "field", k + ": "));
          item.appendChild(text(k === "doc" ? docChange(e.changes[k]) :
            short(e.changes[k][0]) + " → " + short(e.changes[k][1])));
          ul.appendChild(item);
        });
        li.appendChild(ul);
      }
      list.appendChild(li);
    });
  }

  function docChange(pair) {
    var before = (pair[0] || "").trim(), after = (pair[1] || "").trim();
    if (!before) return "written (" + after.split("\n").length + " lines)";
    if (!after) return "deleted";
    return "rewritten (" + after.split("\n").length + " lines)";
  }

  function short(value) {
    if (value === null || value === undefined || value === "" || (Array.isArray(value) && !value.length)) return "∅";
    var s;
    if (Array.isArray(value)) s = value.map(function (v) { return typeof v === "object" ? v.description || JSON.stringify(v) : v; }).join(", ");
    else if (typeof value === "object") s = JSON.stringify(value);
    else s = shortDate(value);
    return s.length > 120 ? s.slice(0, 119) + "…" : s;
  }

  // ------------------------------------------------------------------ markdown (safe: DOM nodes only)
  var INLINE = /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)|\*\*([^*]+?)\*\*|__([^_]+?)__|\*([^*\s](?:[^*]*?[^*\s])?)\*|(^|[^A-Za-z0-9_])_([^_\s](?:[^_]*?[^_\s])?)_(?![A-Za-z0-9_])|\[([^\]]+)\]\(([^()\s]+)\)|(https?:\/\/[^\s<>()]*[^\s<>().,;:!?'"])/g;

  function inline(source, parent) {
    var re = new RegExp(INLINE.source, "g"), last = 0, m;
    while ((m = re.exec(source))) {
      if (m.index > last) parent.appendChild(text(source.slice(last, m.index)));
      if (m[1]) parent.appendChild(el("code", null, m[2]));
      else if (m[3] || m[4]) parent.appendChild(el("strong", null, m[3] || m[4]));
      else if (m[5]) parent.appendChild(el("em", null, m[5]));
      else if (m[7] !== undefined) {
        if (m[6]) parent.appendChild(text(m[6]));
        parent.appendChild(el("em", null, m[7]));
      } else if (m[8]) link(m[8], m[9], parent);
      else link(m[10], m[10], parent);
      last = re.lastIndex;
    }
    if (last < source.length) parent.appendChild(text(source.slice(last)));
  }

  function link(label, url, parent) {
    if (/^(https?:\/\/|mailto:)/i.test(url)) {
      var a = el("a", null, label);
      a.href = url;
      a.rel = "noopener noreferrer nofollow";
      a.target = "_blank";
      parent.appendChild(a);
    } else parent.appendChild(text(label === url ? label : label + " (" + url + ")"));
  }

  function renderMarkdown(source, root) {
    var lines = source.replace(/\r\n?/g, "\n").split("\n");
    var paragraph = [], list = null, quote = null, i = 0, m;
    function flush() {
      if (paragraph.length) { var p = el("p"); inline(paragraph.join(" "), p); root.appendChild(p); }
      paragraph = [];
    }
    function end() { flush(); list = null; quote = null; }
    while (i < lines.length) {
      var line = lines[i];
      if ((m = /^\s*(`{3,}|~{3,})\s*([\w+-]*)/.exec(line))) {
        end();
        var fence = m[1], code = [];
        for (i++; i < lines.length && lines[i].trim().indexOf(fence) !== 0; i++) code.push(lines[i]);
        var pre = el("pre");
        pre.appendChild(el("code", m[2] ? "lang-" + m[2] : null, code.join("\n")));
        root.appendChild(pre);
        i++;
        continue;
      }
      if ((m = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line))) {
        end();
        var heading = el("h" + Math.min(6, m[1].length + 2));
        inline(m[2], heading);
        root.appendChild(heading);
      } else if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) {
        end();
        root.appendChild(el("hr"));
      } else if ((m = /^\s*([-*+]|\d{1,9}[.)])\s+(.*)$/.exec(line))) {
        flush();
        quote = null;
        var ordered = /\d/.test(m[1]);
        if (!list || list.ordered !== ordered) {
          list = { node: el(ordered ? "ol" : "ul"), ordered: ordered };
          root.appendChild(list.node);
        }
        var item = el("li"), body = m[2], box = /^\[([ xX])\]\s+(.*)$/.exec(body);
        if (box) { item.appendChild(text(box[1] === " " ? "☐ " : "☑ ")); body = box[2]; }
        inline(body, item);
        list.node.appendChild(item);
      } else if ((m = /^\s{0,3}>\s?(.*)$/.exec(line))) {
        flush();
        list = null;
        if (!quote) { quote = el("blockquote"); root.appendChild(quote); }
        else quote.appendChild(el("br"));
        inline(m[1], quote);
      } else if (!line.trim()) {
        end();
      } else if (list && /^\s{2,}\S/.test(line)) {
        var last = list.node.lastChild;
        last.appendChild(text(" "));
        inline(line.trim(), last);
      } else {
        list = null;
        quote = null;
        paragraph.push(line.trim());
      }
      i++;
    }
    flush();
  }

  // ------------------------------------------------------------------ wiring
  function fromHash() {
    var m = /^#task=(\d+)$/.exec(location.hash);
    if (m && byId[+m[1]]) openTask(byId[+m[1]]);
  }

  function live() {
    if (!data.live) return;
    var failures = 0, delay = Math.max(0.5, +data.poll || 2) * 1000;
    function schedule() { setTimeout(tick, Math.min(delay * Math.pow(2, failures), 60000)); }
    function tick() {
      if (document.hidden) { schedule(); return; }
      fetch("api/version", { cache: "no-store" })
        .then(function (r) { return r.json(); })
        .then(function (v) {
          failures = 0;
          if (!v || v.key === data.key) return null;
          return fetch("api/board", { cache: "no-store" }).then(function (r) { return r.json(); }).then(function (d) {
            load(d);
            render();
            perf.updates = (perf.updates || 0) + 1;
            if (view.open) { if (byUuid[view.open]) openTask(byUuid[view.open], true); else closeTask(); }
          });
        })
        .catch(function () { failures = Math.min(failures + 1, 5); })
        .then(schedule);
    }
    schedule();
  }

  function start() {
    var t0 = performance.now();
    var d = JSON.parse($("board-data").textContent);
    perf.parse = performance.now() - t0;
    view.by = d.by === "project" ? "project" : "status";
    view.closed = view.by === "status";
    $("by").value = view.by;
    $("closed").checked = view.closed;
    load(d);
    render();
    perf.firstRender = performance.now() - t0;

    var timer = null;
    $("filter").addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { view.q = $("filter").value; view.shown = {}; render(); }, 80);
    });
    $("project").addEventListener("change", function () { view.project = this.value; view.shown = {}; render(); });
    $("tag").addEventListener("change", function () { view.tag = this.value; view.shown = {}; render(); });
    $("by").addEventListener("change", function () {
      view.by = this.value; view.shown = {};
      view.closed = view.by === "status"; $("closed").checked = view.closed;
      render();
    });
    $("closed").addEventListener("change", function () { view.closed = this.checked; render(); });
    $("board").addEventListener("click", function (e) {
      var card = e.target.closest && e.target.closest(".card");
      if (card && byUuid[card.dataset.uuid]) openTask(byUuid[card.dataset.uuid]);
    });
    $("board").addEventListener("keydown", function (e) {
      var card = e.target.closest && e.target.closest(".card");
      if (card && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); openTask(byUuid[card.dataset.uuid]); }
    });
    $("close").addEventListener("click", closeTask);
    $("panel").addEventListener("click", function (e) { if (e.target === this) closeTask(); });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && !$("panel").hidden) closeTask();
      else if (e.key === "/" && document.activeElement !== $("filter")) { e.preventDefault(); $("filter").focus(); }
    });
    window.addEventListener("hashchange", fromHash);
    fromHash();
    live();
    document.body.dataset.ready = "1";
  }

  start();
})();
