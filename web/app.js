/*
 * medtwin clinician dashboard: a single page, hash routes.
 *   #/               the patients (GET /api/twins and, per patient, its twin,
 *                    its last readings and today's readings from /fhir)
 *   #/patient/{id}   one patient: 24 h of readings with the forecast bands,
 *                    meals and insulin, alerts, a what-if comparison and the
 *                    estimated parameters when the server gives them; live
 *                    over server-sent events (/api/twins/{id}/events). A
 *                    patient whose twin is the cardiovascular one
 *                    (circulation_beatavg) gets the heart page instead: mean
 *                    arterial pressure (mmHg) with its forecast median and
 *                    bands, the 65 mmHg hypotension line, drugs and alerts.
 * Sign-in first: GET /api/me, and on 401 a form that POSTs /api/login; the
 * session is the HttpOnly cookie, its CSRF token is kept in memory only and
 * sent as X-CSRF-Token on every request that is not a GET. A 401 later
 * (the session ended) or no input for the session's idle time returns to
 * the form.
 * Plain JavaScript, no build step; charts by uPlot (MIT), served by the
 * binary from /assets. Glucose in mg/dL, blood pressure in mmHg; times
 * shown local.
 */
(function () {
  'use strict';

  var CGM = 'http://loinc.org|99504-3';
  var CARBS = 'http://loinc.org|9059-7';
  var LOW = 70, HIGH = 180;
  var MAP = 'http://loinc.org|8478-0';
  var HEART = 'circulation_beatavg';
  var HYPOTENSION = 65; /* mmHg: the heart twin's alert level */
  var MIN = 60000;
  var main = document.getElementById('main');
  var statusEl = document.getElementById('status');
  var page = null; /* the current page's teardown: {close()} */

  /* ---- small helpers ---------------------------------------------------- */

  /* h('div.cls', {attr: v}, child, ...): an element; strings become text. */
  function h(tag, attrs) {
    var parts = tag.split('.');
    var el = document.createElement(parts[0]);
    if (parts.length > 1) el.className = parts.slice(1).join(' ');
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
        else if (k === 'text') el.textContent = v;
        else el.setAttribute(k, v === true ? '' : v);
      });
    }
    for (var i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  }
  function add(el, c) {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) c.forEach(function (x) { add(el, x); });
    else el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }

  var csrf = null; /* the session's CSRF token: in memory, never stored */
  var me = null;   /* {user, role, ...} from /api/login or /api/me while signed in */

  function diagnostics(j) { return j && j.issue && j.issue[0] && j.issue[0].diagnostics; }
  function capital(s) { return s ? s.charAt(0).toUpperCase() + s.slice(1) : s; }

  /* fetch on this origin with the session cookie; X-CSRF-Token on every
  ** method but GET and HEAD. */
  function request(url, opts) {
    opts = Object.assign({ credentials: 'same-origin' }, opts);
    var m = String(opts.method || 'GET').toUpperCase();
    if (m !== 'GET' && m !== 'HEAD' && csrf)
      opts.headers = Object.assign({}, opts.headers, { 'X-CSRF-Token': csrf });
    return fetch(url, opts);
  }
  function api(url, opts) {
    return request(url, opts).then(function (r) {
      if (r.status === 401) { expired(); throw new Error('401: signed out'); }
      if (r.status === 404) return null;
      return r.json().then(function (j) {
        if (!r.ok) throw new Error(r.status + ': ' + (diagnostics(j) || r.statusText));
        return j;
      });
    });
  }
  function post(url, body) {
    return api(url, { method: 'POST', headers: { 'Content-Type': 'application/json' },
                      body: JSON.stringify(body) });
  }
  function say(msg) { statusEl.textContent = msg; }

  function pct(x) { return x === null || x === undefined ? '–' : Math.round(100 * x) + ' %'; }
  function mg(x) { return x === null || x === undefined || isNaN(x) ? '–' : Math.round(x); }
  function clock(ms) {
    return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }
  function ago(ms) {
    if (ms === null) return 'no readings';
    var m = Math.max(0, Math.round((Date.now() - ms) / MIN));
    if (m < 1) return 'just now';
    if (m < 120) return m + ' min ago';
    if (m < 2880) return Math.round(m / 60) + ' h ago';
    return Math.round(m / 1440) + ' days ago';
  }
  function dayParam(ms) { return new Date(ms).toISOString().slice(0, 10); }

  /* FHIR reading → {t: ms, v: mg/dL} (mmol/L converted as the server does). */
  function fhirTime(r) {
    var s = r.effectiveDateTime || r.effectiveInstant ||
            (r.effectivePeriod && r.effectivePeriod.start) || r.issued;
    return s ? Date.parse(s) : NaN;
  }
  function reading(r) {
    var q = r.valueQuantity || {};
    var v = Number(q.value);
    if (/mmol/i.test(q.code || q.unit || '')) v *= 18.016;
    return { t: fhirTime(r), v: v };
  }
  function entries(b) {
    return (b && b.entry || []).map(function (e) { return e.resource; })
      .filter(function (r) { return r; });
  }
  function search(type, p, code, since, count, sort) {
    var q = 'patient=' + encodeURIComponent(p);
    if (code) q += '&code=' + encodeURIComponent(code);
    if (since !== null) q += '&date=ge' + dayParam(since);
    q += '&_sort=' + (sort || '-date') + '&_count=' + count;
    return api('/fhir/' + type + '?' + q).then(entries);
  }
  function readings(p, since, count) {
    return search('Observation', p, CGM, since, count).then(function (rs) {
      return rs.map(reading).filter(function (x) {
        return isFinite(x.t) && isFinite(x.v) && (since === null || x.t >= since);
      }).sort(function (a, b) { return a.t - b.t; });
    });
  }
  /* The patient's MAP readings (LOINC 8478-0, mm[Hg]), oldest first. */
  function mapReadings(p, since, count) {
    return search('Observation', p, MAP, since, count).then(function (rs) {
      return rs.map(function (r) {
        return { t: fhirTime(r), v: Number((r.valueQuantity || {}).value) };
      }).filter(function (x) {
        return isFinite(x.t) && isFinite(x.v) && (since === null || x.t >= since);
      }).sort(function (a, b) { return a.t - b.t; });
    });
  }
  function mapClass(v) { return v < HYPOTENSION ? 'low' : v > 110 ? 'high' : 'ok'; }
  function mapWord(v) { return v < HYPOTENSION ? 'below 65' : v > 110 ? 'high' : 'at or above 65'; }
  function patientName(p) {
    return api('/fhir/Patient/' + encodeURIComponent(p)).then(function (r) {
      var n = r && r.name && r.name[0];
      if (!n) return null;
      if (n.text) return n.text;
      return [(n.given || []).join(' '), n.family].filter(Boolean).join(' ') || null;
    }, function () { return null; });
  }

  /* Trend over the readings of the last 15 min before the latest: mg/dL/min
  ** by least squares, as an arrow and words (never the arrow alone). */
  function trend(rs) {
    if (rs.length < 2) return { arrow: '', text: 'trend unknown', rate: null };
    var last = rs[rs.length - 1].t;
    var w = rs.filter(function (x) { return x.t >= last - 15 * MIN; });
    if (w.length < 2) return { arrow: '', text: 'trend unknown', rate: null };
    var n = w.length, st = 0, sv = 0, stt = 0, stv = 0;
    w.forEach(function (x) {
      var t = (x.t - last) / MIN;
      st += t; sv += x.v; stt += t * t; stv += t * x.v;
    });
    var den = n * stt - st * st;
    var k = den ? (n * stv - st * sv) / den : 0;
    var a = k >= 3 ? ['⇈', 'rising fast'] : k >= 2 ? ['↑', 'rising'] :
            k >= 1 ? ['↗', 'rising slowly'] : k > -1 ? ['→', 'steady'] :
            k > -2 ? ['↘', 'falling slowly'] : k > -3 ? ['↓', 'falling'] :
            ['⇊', 'falling fast'];
    return { arrow: a[0], text: a[1], rate: k };
  }
  function tir(rs) {
    if (!rs.length) return null;
    return rs.filter(function (x) { return x.v >= LOW && x.v <= HIGH; }).length / rs.length;
  }
  function glucoseClass(v) { return v < 54 ? 'vlow' : v < LOW ? 'low' : v > 250 ? 'vhigh' : v > HIGH ? 'high' : 'ok'; }
  function glucoseWord(v) {
    return { vlow: 'very low', low: 'low', ok: 'in range', high: 'high', vhigh: 'very high' }[glucoseClass(v)];
  }
  /* Alerts raised in the last hour, or whose predicted time is still ahead. */
  function activeAlerts(alerts) {
    var now = Date.now();
    return (alerts || []).filter(function (a) {
      var t = Date.parse(a.time), p = a.predicted ? Date.parse(a.predicted) : NaN;
      return t >= now - 60 * MIN || p >= now;
    });
  }
  function alertLabel(a) {
    var k = String(a.kind || 'alert');
    var icon = /hypo|low/i.test(k) ? '▼' : /hyper|high/i.test(k) ? '▲' : '!';
    return icon + ' ' + k.replace(/_/g, ' ');
  }
  function alertBadge(a) {
    return h('span.badge.alert', { title: 'alert raised ' + clock(Date.parse(a.time)) },
             '⚠ ', alertLabel(a),
             a.probability !== undefined ? ' (' + pct(a.probability) + ')' : '');
  }

  /* ---- the patient list -------------------------------------------------- */

  function listPage() {
    var alive = true, timer = null;
    clear(main);
    document.title = 'medtwin — patients';
    var body = h('tbody');
    var latestTh = h('th', { scope: 'col' }, 'Latest glucose');
    var table = h('table.patients', { 'aria-describedby': 'list-help' },
      h('caption', null, 'Patients with a digital twin'),
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, 'Patient'),
        latestTh,
        h('th', { scope: 'col' }, 'Forecast 60 min'),
        h('th', { scope: 'col' }, 'Time in range today (70–180)'),
        h('th', { scope: 'col' }, 'Active alerts'),
        h('th', { scope: 'col' }, 'Data freshness'))),
      body);
    var count = h('p.muted', { id: 'list-help' }, 'Loading patients…');
    add(main, [h('h1', null, 'Patients'), count, h('div.scroll', null, table)]);

    function load() {
      api('/api/twins').then(function (j) {
        if (!alive) return;
        var twins = (j && j.twins) || [];
        count.textContent = twins.length + (twins.length === 1 ? ' patient' : ' patients') +
          ' · select a row (or focus it and press Enter) to open · refreshed ' + clock(Date.now());
        return Promise.all(twins.map(rowData)).then(function (rows) {
          if (!alive) return;
          rows.sort(function (a, b) { /* alerts first, then by name */
            return (b.active.length > 0) - (a.active.length > 0) ||
                   String(a.name).localeCompare(String(b.name));
          });
          clear(body);
          /* a heart twin's row shows MAP in that column */
          latestTh.textContent = rows.some(function (r) { return r.heart; }) ?
            'Latest glucose or MAP' : 'Latest glucose';
          rows.forEach(function (r) { body.appendChild(row(r)); });
          if (!rows.length)
            body.appendChild(h('tr', null, h('td', { colspan: 6 },
              'No twins yet: PUT /api/twins/{patient} creates one (docs/API.md).')));
        });
      }).catch(function (e) { if (alive) say('Could not load patients: ' + e.message); });
    }
    function rowData(tw) {
      var p = tw.patient, midnight = new Date(); midnight.setHours(0, 0, 0, 0);
      if (tw.model === HEART) return heartRowData(tw);
      return Promise.all([
        api('/api/twins/' + encodeURIComponent(p)).catch(function () { return null; }),
        readings(p, null, 12).catch(function () { return []; }),
        readings(p, midnight.getTime(), 1000).catch(function () { return []; }),
        patientName(p)
      ]).then(function (x) {
        var full = x[0] || tw, last = x[1];
        return { p: p, twin: full, name: x[3] || p, last: last, today: x[2],
                 active: activeAlerts(full.alerts) };
      });
    }
    function heartRowData(tw) {
      var p = tw.patient;
      return Promise.all([
        api('/api/twins/' + encodeURIComponent(p)).catch(function () { return null; }),
        mapReadings(p, null, 12).catch(function () { return []; }),
        patientName(p)
      ]).then(function (x) {
        var full = x[0] || tw;
        return { p: p, twin: full, name: x[2] || p, last: x[1], heart: true,
                 active: activeAlerts(full.alerts) };
      });
    }
    /* A heart twin's row: its latest MAP and the 60-min forecast median in
    ** the glucose columns; time in range does not apply. */
    function heartRow(r, open) {
      var latest = r.last.length ? r.last[r.last.length - 1] : null;
      var f60 = (r.twin.forecast || []).filter(function (f) { return f.horizon_min === 60; })[0];
      var fresh = latest ? latest.t : null;
      var stale = fresh === null || Date.now() - fresh > 60 * MIN;
      return h('tr.row.heart', { tabindex: 0, role: 'link', 'data-patient': r.p, 'data-model': HEART,
                                 'aria-label': 'Open ' + r.name, onclick: open,
                                 onkeydown: function (e) {
                                   if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open(); }
                                 } },
        h('td', null, h('a', { href: '#/patient/' + encodeURIComponent(r.p), tabindex: -1 }, r.name),
          r.name !== r.p ? h('div.muted.small', null, r.p) : null),
        h('td.map-latest', null, latest ? [h('span.small', null, 'MAP '),
          h('span.glucose.' + mapClass(latest.v), null, mg(latest.v)), ' mmHg ',
          h('span.small', null, mapWord(latest.v))] : h('span.muted', null, 'no MAP readings')),
        h('td', null, f60 ? ['MAP ' + mg(f60.p50) + ' mmHg ',
          h('span.muted.small', null, '(80 %: ' + mg(f60.p10) + '–' + mg(f60.p90) + ')')] : '–'),
        h('td', null, h('span.muted', null, 'heart twin: not applicable')),
        h('td', null, r.active.length ? r.active.map(alertBadge) : h('span.muted', null, '✓ none')),
        h('td', null, stale && fresh !== null ? h('span.badge.stale', null, '⏱ ', ago(fresh), ' (stale)') :
          ago(fresh)));
    }
    function row(r) {
      var open = function () { location.hash = '#/patient/' + encodeURIComponent(r.p); };
      if (r.heart) return heartRow(r, open);
      var latest = r.last.length ? r.last[r.last.length - 1] : null;
      var tr = trend(r.last);
      var f60 = (r.twin.forecast || []).filter(function (f) { return f.horizon_min === 60; })[0];
      var t = tir(r.today);
      var fresh = latest ? latest.t : null;
      var stale = fresh === null || Date.now() - fresh > 15 * MIN;
      return h('tr.row', { tabindex: 0, role: 'link', 'data-patient': r.p,
                           'aria-label': 'Open ' + r.name,
                           onclick: open,
                           onkeydown: function (e) {
                             if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open(); }
                           } },
        h('td', null, h('a', { href: '#/patient/' + encodeURIComponent(r.p), tabindex: -1 }, r.name),
          r.name !== r.p ? h('div.muted.small', null, r.p) : null),
        h('td', null, latest ? [
          h('span.glucose.' + glucoseClass(latest.v), null, mg(latest.v)), ' mg/dL ',
          h('span.trend', { title: tr.rate === null ? '' : tr.rate.toFixed(1) + ' mg/dL/min' },
            tr.arrow), ' ',
          h('span.small', null, glucoseWord(latest.v) + ', ' + tr.text)] : h('span.muted', null, 'no readings')),
        h('td', null, f60 ? [mg(f60.mean) + ' mg/dL ',
          h('span.muted.small', null, '(80 %: ' + mg(f60.p10) + '–' + mg(f60.p90) + ')')] : '–'),
        h('td', null, t === null ? h('span.muted', null, 'no readings today') :
          [h('meter', { min: 0, max: 1, low: 0.5, high: 0.7, optimum: 1, value: t.toFixed(3),
                        'aria-hidden': 'true' }), ' ', pct(t),
           h('span.muted.small', null, ' of ' + r.today.length)]),
        h('td', null, r.active.length ? r.active.map(alertBadge) : h('span.muted', null, '✓ none')),
        h('td', null, stale && fresh !== null ? h('span.badge.stale', null, '⏱ ', ago(fresh), ' (stale)') :
          ago(fresh)));
    }
    load();
    timer = setInterval(load, 30000);
    return { close: function () { alive = false; clearInterval(timer); } };
  }

  /* ---- charts -------------------------------------------------------------- */

  var hasPlot = typeof window.uPlot === 'function';

  /* Shade 70–180 mg/dL under the series (the target range). */
  function rangeShade(u) {
    var ctx = u.ctx, y1 = u.valToPos(HIGH, 'y', true), y0 = u.valToPos(LOW, 'y', true);
    ctx.save();
    ctx.fillStyle = 'rgba(46, 160, 67, 0.10)';
    ctx.fillRect(u.bbox.left, y1, u.bbox.width, y0 - y1);
    ctx.strokeStyle = 'rgba(46, 160, 67, 0.6)';
    ctx.setLineDash([4, 4]);
    [y0, y1].forEach(function (y) {
      ctx.beginPath(); ctx.moveTo(u.bbox.left, y); ctx.lineTo(u.bbox.left + u.bbox.width, y); ctx.stroke();
    });
    ctx.restore();
  }
  function axes(yLabel) {
    return [
      { label: 'Time (local)', space: 80, values: function (u, vals) {
          return vals.map(function (v) { return clock(v * 1000); });
        } },
      { label: yLabel, size: 56 }
    ];
  }
  function sizeOf(el, hgt) { return { width: Math.max(280, el.clientWidth), height: hgt }; }

  /* The glucose chart: readings, forecast mean with 80 % and 95 % bands,
  ** markers for meals (▲ g), insulin (◆ U) and alerts (!). */
  /*
  ** uPlot's columns for a chart of readings and a forecast: time (s), the
  ** readings, the forecast's centre (its field centre: mean or p50), p10,
  ** p90, p2.5, p97.5; null where a series has no point at a time.
  */
  function chartColumns(readings, fc, centre) {
    var xs = {};
    readings.forEach(function (r) { xs[r.t] = 1; });
    fc.forEach(function (f) { xs[f.t] = 1; });
    var x = Object.keys(xs).map(Number).sort(function (a, b) { return a - b; });
    var at = {}; x.forEach(function (t, i) { at[t] = i; });
    var cols = [x.map(function (t) { return t / 1000; })];
    for (var k = 0; k < 6; k++) cols.push(x.map(function () { return null; }));
    readings.forEach(function (r) { cols[1][at[r.t]] = r.v; });
    fc.forEach(function (f) {
      var i = at[f.t];
      cols[2][i] = f[centre]; cols[3][i] = f.p10; cols[4][i] = f.p90;
      cols[5][i] = f.p025; cols[6][i] = f.p975;
    });
    return cols;
  }

  function glucoseChart(el, st) {
    if (!hasPlot) {
      add(el, h('p.muted', null, 'Charts are not part of this build (uPlot missing: npm ci).'));
      return { update: function () {}, destroy: function () {} };
    }
    var plot = null;
    function data() { return chartColumns(st.readings, forecastPoints(st), 'mean'); }
    function markers(u) {
      var ctx = u.ctx, top = u.bbox.top, bottom = u.bbox.top + u.bbox.height;
      var lo = u.scales.x.min, hi = u.scales.x.max, px = devicePixelRatio || 1;
      ctx.save();
      ctx.font = Math.round(11 * px) + 'px system-ui, sans-serif';
      ctx.textAlign = 'center';
      function x(t) { return u.valToPos(t / 1000, 'x', true); }
      function inside(t) { return t / 1000 >= lo && t / 1000 <= hi; }
      st.meals.forEach(function (m) {
        if (!inside(m.t)) return;
        ctx.fillStyle = '#b7791f';
        ctx.fillText('▲', x(m.t), bottom - 16 * px);
        ctx.fillText(Math.round(m.g) + ' g', x(m.t), bottom - 4 * px);
      });
      st.insulin.forEach(function (m) {
        if (!inside(m.t)) return;
        ctx.fillStyle = '#6b46c1';
        ctx.fillText('◆', x(m.t), bottom - 40 * px);
        ctx.fillText(m.label, x(m.t), bottom - 28 * px);
      });
      st.alerts.forEach(function (a) {
        var t = Date.parse(a.time);
        if (!inside(t)) return;
        ctx.fillStyle = '#c53030';
        ctx.fillText('⚠', x(t), top + 12 * px);
      });
      ctx.restore();
    }
    function make() {
      var opts = {
        title: 'Glucose, last 24 h, and forecast',
        width: sizeOf(el, 340).width, height: 340,
        scales: { x: { time: true }, y: { range: function (u, a, b) {
          return [Math.min(40, a === null ? 40 : a - 10), Math.max(250, b === null ? 250 : b + 10)];
        } } },
        axes: axes('Glucose (mg/dL)'),
        series: [
          { label: 'Time', value: function (u, v) { return v === null ? '–' : clock(v * 1000); } },
          { label: 'CGM reading (mg/dL)', stroke: '#1a56db', width: 1.5,
            points: { show: true, size: 4 }, spanGaps: false,
            value: function (u, v) { return v === null ? '–' : Math.round(v) + ' mg/dL'; } },
          { label: 'Forecast mean', stroke: '#111827', width: 2, dash: [6, 4], spanGaps: true,
            value: fmtMg },
          { label: 'p10 (80 % band)', stroke: 'rgba(234, 88, 12, 0.8)', width: 1, spanGaps: true, value: fmtMg },
          { label: 'p90 (80 % band)', stroke: 'rgba(234, 88, 12, 0.8)', width: 1, spanGaps: true, value: fmtMg },
          { label: 'p2.5 (95 % band)', stroke: 'rgba(234, 88, 12, 0.35)', width: 1, dash: [2, 3], spanGaps: true, value: fmtMg },
          { label: 'p97.5 (95 % band)', stroke: 'rgba(234, 88, 12, 0.35)', width: 1, dash: [2, 3], spanGaps: true, value: fmtMg }
        ],
        bands: [
          { series: [4, 3], fill: 'rgba(234, 88, 12, 0.22)' },
          { series: [6, 4], fill: 'rgba(234, 88, 12, 0.09)' },
          { series: [3, 5], fill: 'rgba(234, 88, 12, 0.09)' }
        ],
        hooks: { drawClear: [rangeShade], draw: [markers] }
      };
      plot = new uPlot(opts, data(), el);
    }
    make();
    var ro = new ResizeObserver(function () { if (plot) plot.setSize(sizeOf(el, 340)); });
    ro.observe(el);
    return {
      update: function () { plot.setData(data()); },
      destroy: function () { ro.disconnect(); plot.destroy(); }
    };
  }
  function fmtMg(u, v) { return v === null ? '–' : Math.round(v) + ' mg/dL'; }

  /* The forecast anchored at the last reading, then at each horizon. */
  function forecastPoints(st) {
    var fc = st.forecast || [];
    if (!fc.length) return [];
    var last = st.readings.length ? st.readings[st.readings.length - 1] : null;
    var pts = [];
    var first = Date.parse(fc[0].time) - fc[0].horizon_min * MIN;
    if (last && Math.abs(last.t - first) < 30 * MIN)
      pts.push({ t: last.t, mean: last.v, p10: last.v, p90: last.v, p025: last.v, p975: last.v });
    fc.forEach(function (f) {
      pts.push({ t: Date.parse(f.time), mean: f.mean, p10: f.p10, p90: f.p90,
                 p025: f.p025, p975: f.p975 });
    });
    if (last) pts = pts.filter(function (p) { return p.t >= last.t; });
    return pts;
  }

  /* A small chart of a what-if outcome's hourly p10/p50/p90. */
  function whatifChart(el, bg, origin) {
    if (!hasPlot) return;
    var x = bg.map(function (b) { return (origin + b.t_min * MIN) / 1000; });
    var u = new uPlot({
      width: Math.max(160, el.clientWidth), height: 150,
      legend: { show: false },
      scales: { x: { time: true }, y: { range: [30, 300] } },
      axes: [{ space: 60, values: function (u, v) { return v.map(function (s) { return clock(s * 1000); }); },
               size: 30, font: '10px system-ui' },
             { size: 36, font: '10px system-ui', label: 'mg/dL', labelSize: 14, labelFont: '10px system-ui' }],
      series: [{}, { label: 'p10', stroke: 'rgba(234,88,12,.8)' },
               { label: 'p50', stroke: '#111827', width: 2 },
               { label: 'p90', stroke: 'rgba(234,88,12,.8)' }],
      bands: [{ series: [3, 1], fill: 'rgba(234,88,12,.18)' }],
      hooks: { drawClear: [rangeShade] }
    }, [x, bg.map(function (b) { return b.p10; }), bg.map(function (b) { return b.p50; }),
        bg.map(function (b) { return b.p90; })], el);
    var ro = new ResizeObserver(function () {
      u.setSize({ width: Math.max(160, el.clientWidth), height: 150 });
    });
    ro.observe(el);
    return { destroy: function () { ro.disconnect(); u.destroy(); } };
  }

  /* A parameter's history as an inline SVG sparkline (mean, p10–p90). */
  function sparkline(hist) {
    var NS = 'http://www.w3.org/2000/svg', w = 90, ht = 26;
    var svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('width', w); svg.setAttribute('height', ht);
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', hist.length + ' estimates, latest ' +
      (hist.length ? Number(hist[hist.length - 1].mean).toPrecision(3) : '–'));
    if (hist.length < 2) return svg;
    var lo = Infinity, hi = -Infinity;
    hist.forEach(function (p) { lo = Math.min(lo, p.p10, p.mean); hi = Math.max(hi, p.p90, p.mean); });
    if (hi === lo) { hi += 1; lo -= 1; }
    function X(i) { return 2 + (w - 4) * i / (hist.length - 1); }
    function Y(v) { return ht - 2 - (ht - 4) * (v - lo) / (hi - lo); }
    var band = hist.map(function (p, i) { return X(i) + ',' + Y(p.p90); })
      .concat(hist.slice().reverse().map(function (p, i) {
        return X(hist.length - 1 - i) + ',' + Y(p.p10);
      }));
    var poly = document.createElementNS(NS, 'polygon');
    poly.setAttribute('points', band.join(' ')); poly.setAttribute('fill', 'rgba(234,88,12,.2)');
    var line = document.createElementNS(NS, 'polyline');
    line.setAttribute('points', hist.map(function (p, i) { return X(i) + ',' + Y(p.mean); }).join(' '));
    line.setAttribute('fill', 'none'); line.setAttribute('stroke', '#111827');
    svg.appendChild(poly); svg.appendChild(line);
    return svg;
  }

  /* ---- one patient ----------------------------------------------------------- */

  var paramHistory = {}; /* patient → name → [{t, mean, p10, p90}], this tab only */

  /* ---- one patient: what both pages share ----------------------------------- */

  function stat(label, value) { return h('div.stat', null, h('div.label', null, label), h('div.value', null, value)); }

  /* The page's heading: the name, the twin's model and prior group, what it took. */
  function twinHeading(head, p, st) {
    var tw = st.twin || {};
    clear(head);
    add(head, [h('h1', null, st.name),
      h('p.muted', null, (st.name !== p ? p + ' · ' : '') + 'model ' + (tw.model || '–') +
        ' (' + (tw.prior_group || '–') + ') · ' + (tw.readings || 0) + ' readings, ' +
        (tw.inputs || 0) + ' inputs, ' + (tw.refused || 0) + ' refused')]);
  }

  /* The alert timeline, newest first (50 at most), the active ones marked. */
  function alertTimeline(box, alerts) {
    clear(box);
    var list = alerts.slice().sort(function (a, b) { return Date.parse(b.time) - Date.parse(a.time); });
    if (!list.length) { add(box, h('li.muted', null, '✓ No alerts raised')); return; }
    var act = activeAlerts(list);
    list.slice(0, 50).forEach(function (a) {
      var on = act.indexOf(a) >= 0;
      add(box, h('li' + (on ? '.active' : ''), null,
        h('time', { datetime: a.time }, clock(Date.parse(a.time))), ' ',
        h('strong', null, '⚠ ' + alertLabel(a)), ' ', on ? h('span.badge.alert', null, 'active') : null,
        h('div.small', null, 'probability ' + pct(a.probability) +
          (a.predicted ? ', expected at ' + clock(Date.parse(a.predicted)) : ''))));
    });
  }

  /*
  ** The life of a patient page: page.load() (a promise), then page.render() and
  ** the twin's server-sent events, each handled by page.on[name](data) and
  ** followed by a render within 200 ms (ctl.later() asks for one too); alerts
  ** are kept in st.alerts and announced here. A failed load replaces the page
  ** with the error. Returns ctl: { later, alive(), close() } (close also runs
  ** page.close).
  */
  function livePage(p, st, page) {
    var alive = true, es = null, pending = null;
    var ctl = {
      later: function () { if (!pending) pending = setTimeout(draw, 200); },
      alive: function () { return alive; },
      close: function () {
        alive = false;
        if (es) es.close();
        if (pending) clearTimeout(pending);
        if (page.close) page.close();
      }
    };
    function draw() { pending = null; if (alive) page.render(); }
    function handle(name, fn) {
      es.addEventListener(name, function (e) { fn(JSON.parse(e.data)); ctl.later(); });
    }
    function listen() {
      es = new EventSource('/api/twins/' + encodeURIComponent(p) + '/events');
      es.onopen = function () { say('Live: updates arrive as the twin takes data'); };
      es.onerror = function () {
        if (es.readyState !== EventSource.CLOSED) { say('Live updates interrupted; reconnecting…'); return; }
        /* refused (the session may have ended: a 401 here returns to sign-in) */
        api('/api/me').then(function () {
          if (alive) say('Live updates stopped: reload the page to resume');
        }, function () {});
      };
      Object.keys(page.on).forEach(function (name) { handle(name, page.on[name]); });
      handle('alert', function (a) {
        st.alerts.push(a);
        say('New alert: ' + alertLabel(a) + ' at ' + clock(Date.parse(a.time)));
      });
    }
    page.load().then(function () {
      if (!alive) return;
      document.title = 'medtwin — ' + st.name;
      draw();
      listen();
    }).catch(function (e) {
      if (!alive) return;
      clear(main);
      add(main, [h('p', null, h('a', { href: '#/' }, '← All patients')),
        h('p.error', { role: 'alert' }, 'Could not open this patient: ' + e.message)]);
    });
    return ctl;
  }

  function patientPage(p) {
    var chart = null, ctl;
    var st = { readings: [], meals: [], insulin: [], alerts: [], forecast: [], twin: null,
               parameters: null, name: p };
    clear(main);
    var head = h('div.phead');
    var chartBox = h('div.chart', { id: 'glucose-chart', role: 'img',
                                    'aria-label': 'Glucose readings of the last 24 hours and the forecast' });
    var key = h('p.key.small', null,
      h('span.k-range', null, '▭ target 70–180 mg/dL'), ' · ',
      h('span.k-meal', null, '▲ meal (g carbohydrate)'), ' · ',
      h('span.k-ins', null, '◆ insulin (U bolus, U/h basal)'), ' · ',
      h('span.k-alert', null, '⚠ alert'), ' · shaded: 80 % (p10–p90) and 95 % (p2.5–p97.5) forecast bands');
    var summary = h('div.summary');
    var alertsBox = h('ol.timeline', { 'aria-label': 'Alerts, newest first' });
    var paramsBox = h('div');
    var whatifBox = whatifPanel(p, st);
    add(main, [
      h('p', null, h('a', { href: '#/' }, '← All patients')),
      head,
      h('section.card', { 'aria-labelledby': 'h-glucose' },
        h('h2', { id: 'h-glucose' }, 'Glucose'), summary, chartBox, key),
      h('div.cols', null,
        h('section.card', { 'aria-labelledby': 'h-alerts' },
          h('h2', { id: 'h-alerts' }, 'Alert timeline'), alertsBox),
        h('section.card', { 'aria-labelledby': 'h-params' },
          h('h2', { id: 'h-params' }, 'Estimated parameters'), paramsBox)),
      whatifBox.el
    ]);

    function render() {
      twinHeading(head, p, st);
      var last = st.readings.length ? st.readings[st.readings.length - 1] : null;
      var tr = trend(st.readings.slice(-12));
      var midnight = new Date(); midnight.setHours(0, 0, 0, 0);
      var today = st.readings.filter(function (r) { return r.t >= midnight.getTime(); });
      var f = {}; (st.forecast || []).forEach(function (x) { f[x.horizon_min] = x; });
      clear(summary);
      add(summary, [
        stat('Latest', last ? [h('span.glucose.' + glucoseClass(last.v), null, mg(last.v)), ' mg/dL ',
          h('span.trend', null, tr.arrow), h('div.small', null, glucoseWord(last.v) + ', ' + tr.text)] : 'no readings'),
        stat('Data freshness', last ? [ago(last.t), h('div.small', null, 'at ' + clock(last.t))] : '–'),
        stat('Time in range today', [pct(tir(today)), h('div.small', null, today.length + ' readings')]),
        [30, 60, 120].map(function (m) {
          return stat('Forecast ' + m + ' min', f[m] ? [mg(f[m].mean) + ' mg/dL',
            h('div.small', null, '80 %: ' + mg(f[m].p10) + '–' + mg(f[m].p90) +
              ' · 95 %: ' + mg(f[m].p025) + '–' + mg(f[m].p975))] : '–');
        })
      ]);
      if (!chart) chart = glucoseChart(chartBox, st); else chart.update();
      alertTimeline(alertsBox, st.alerts);
      renderParams();
    }
    function later() { ctl.later(); }

    function renderParams() {
      clear(paramsBox);
      if (!Array.isArray(st.parameters) || !st.parameters.length) {
        add(paramsBox, h('p.muted', null, 'This server does not report parameter estimates for this twin.'));
        return;
      }
      var hist = paramHistory[p] || {};
      add(paramsBox, h('div.scroll', null, h('table.params', null,
        h('thead', null, h('tr', null, ['Parameter', 'Mean ± SD', '80 % (p10–p90)', 'Unit', 'History'].map(
          function (c) { return h('th', { scope: 'col' }, c); }))),
        h('tbody', null, st.parameters.map(function (q) {
          return h('tr', null, h('th', { scope: 'row' }, q.name),
            h('td.num', null, num(q.mean) + ' ± ' + num(q.sd)),
            h('td.num', null, num(q.p10) + '–' + num(q.p90)),
            h('td', null, q.unit || ''),
            h('td', null, sparkline(hist[q.name] || []),
              h('div.small.muted', null, (hist[q.name] || []).length + ' this session')));
        })))));
    }
    function num(x) { return typeof x === 'number' ? Number(x.toPrecision(3)).toString() : '–'; }
    function keepParams(params) {
      if (!Array.isArray(params)) return;
      st.parameters = params;
      var hist = paramHistory[p] = paramHistory[p] || {};
      params.forEach(function (q) {
        var hs = hist[q.name] = hist[q.name] || [];
        hs.push({ t: Date.now(), mean: q.mean, p10: q.p10, p90: q.p90 });
        if (hs.length > 500) hs.shift();
      });
    }

    function loadTwin() {
      return api('/api/twins/' + encodeURIComponent(p)).then(function (tw) {
        if (!tw) throw new Error('no twin for patient ' + p);
        st.twin = tw; st.forecast = tw.forecast || []; st.alerts = tw.alerts || [];
        keepParams(tw.parameters);
      });
    }
    function loadAll() {
      var since = Date.now() - 24 * 60 * MIN;
      return Promise.all([
        loadTwin(),
        readings(p, since, 1000).then(function (rs) { st.readings = rs; }),
        search('Observation', p, CARBS, since, 1000).then(function (rs) {
          st.meals = rs.map(function (r) { return { t: fhirTime(r), g: Number((r.valueQuantity || {}).value) }; })
            .filter(function (m) { return m.t >= since; });
        }),
        search('MedicationAdministration', p, null, since, 1000).then(function (rs) {
          st.insulin = rs.map(insulin).filter(function (m) { return m && m.t >= since; });
        }),
        patientName(p).then(function (n) { if (n) st.name = n; })
      ]);
    }
    function insulin(r) {
      var d = r.dosage || {}, t = fhirTime(r);
      if (d.dose && d.dose.value !== undefined) return { t: t, label: num(Number(d.dose.value)) + ' U' };
      if (d.rateQuantity && d.rateQuantity.value !== undefined)
        return { t: t, label: num(Number(d.rateQuantity.value)) + ' U/h' };
      return null;
    }
    ctl = livePage(p, st, {
      load: loadAll,
      render: render,
      on: {
        assimilation: function (d) {
          var t = Date.parse(d.time);
          if (d.kind === 'cgm' && d.accepted && isFinite(t)) {
            if (!st.readings.length || t > st.readings[st.readings.length - 1].t) st.readings.push({ t: t, v: d.value });
            var cut = Date.now() - 24 * 60 * MIN;
            while (st.readings.length && st.readings[0].t < cut) st.readings.shift();
          } else if (d.kind === 'carbs' && isFinite(t)) st.meals.push({ t: t, g: d.value });
          else if (/bolus/.test(d.kind) && isFinite(t)) st.insulin.push({ t: t, label: num(d.value) + ' U' });
          else if (/basal/.test(d.kind) && isFinite(t)) st.insulin.push({ t: t, label: num(d.value) + ' U/h' });
          if (st.twin) { st.twin.readings += d.kind === 'cgm' && d.accepted ? 1 : 0; }
        },
        forecast: function (d) {
          if (Array.isArray(d.forecast)) st.forecast = d.forecast;
          if (Array.isArray(d.parameters)) keepParams(d.parameters);
          else if (Array.isArray(st.parameters)) loadTwin().then(later, function () {});
        },
        parameters: function (d) { keepParams(Array.isArray(d) ? d : d.parameters); }
      },
      close: function () {
        if (chart) chart.destroy();
        whatifBox.close();
      }
    });
    return ctl;
  }

  /* ---- one patient: which page --------------------------------------------- */

  /* The heart page for a cardiovascular twin, the glucose page otherwise (and
  ** when the twin cannot be read: that page says why). */
  function openPatient(p) {
    var inner = null, closed = false;
    clear(main);
    add(main, h('p.muted', null, 'Loading…'));
    api('/api/twins/' + encodeURIComponent(p)).then(function (tw) {
      if (!closed) inner = tw && tw.model === HEART ? heartPage(p) : patientPage(p);
    }, function () {
      if (!closed) inner = patientPage(p);
    });
    return { close: function () { closed = true; if (inner) inner.close(); } };
  }

  /* ---- the heart ------------------------------------------------------------ */

  function fmtMmHg(u, v) { return v === null ? '–' : Math.round(v) + ' mmHg'; }

  /* The MAP chart: readings, forecast median with 80 % and 95 % bands, a
  ** dashed line at 65 mmHg (hypotension), markers for drugs (◆) and alerts
  ** (⚠). The line's position is kept on the element (data-line65-y, device
  ** pixels of the canvas) for the browser test. */
  function mapChart(el, st) {
    if (!hasPlot) {
      add(el, h('p.muted', null, 'Charts are not part of this build (uPlot missing: npm ci).'));
      return { update: function () {}, destroy: function () {} };
    }
    var plot = null;
    function points() {
      var fc = st.forecast || [];
      var last = st.readings.length ? st.readings[st.readings.length - 1] : null;
      var pts = [];
      if (!fc.length) return pts;
      var first = Date.parse(fc[0].time) - fc[0].horizon_min * MIN;
      if (last && Math.abs(last.t - first) < 60 * MIN)
        pts.push({ t: last.t, p50: last.v, p10: last.v, p90: last.v, p025: last.v, p975: last.v });
      fc.forEach(function (f) {
        pts.push({ t: Date.parse(f.time), p50: f.p50, p10: f.p10, p90: f.p90, p025: f.p025, p975: f.p975 });
      });
      return last ? pts.filter(function (q) { return q.t >= last.t; }) : pts;
    }
    function data() { return chartColumns(st.readings, points(), 'p50'); }
    function line65(u) {
      var ctx = u.ctx, y = u.valToPos(HYPOTENSION, 'y', true), px = devicePixelRatio || 1;
      ctx.save();
      ctx.strokeStyle = 'rgb(220, 38, 38)';
      ctx.lineWidth = 2 * px;
      ctx.setLineDash([8 * px, 5 * px]);
      ctx.beginPath(); ctx.moveTo(u.bbox.left, y); ctx.lineTo(u.bbox.left + u.bbox.width, y); ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = 'rgb(220, 38, 38)';
      ctx.font = Math.round(11 * px) + 'px system-ui, sans-serif';
      ctx.textAlign = 'left';
      ctx.fillText('65 mmHg', u.bbox.left + 4 * px, y - 4 * px);
      ctx.restore();
      el.setAttribute('data-line65-y', String(Math.round(y)));
    }
    function markers(u) {
      var ctx = u.ctx, top = u.bbox.top, bottom = u.bbox.top + u.bbox.height;
      var lo = u.scales.x.min, hi = u.scales.x.max, px = devicePixelRatio || 1;
      ctx.save();
      ctx.font = Math.round(11 * px) + 'px system-ui, sans-serif';
      ctx.textAlign = 'center';
      function x(t) { return u.valToPos(t / 1000, 'x', true); }
      function inside(t) { return t / 1000 >= lo && t / 1000 <= hi; }
      st.drugs.forEach(function (m) {
        if (!inside(m.t)) return;
        ctx.fillStyle = '#6b46c1';
        ctx.fillText('◆', x(m.t), bottom - 16 * px);
        ctx.fillText(m.label, x(m.t), bottom - 4 * px);
      });
      st.alerts.forEach(function (a) {
        var t = Date.parse(a.time);
        if (!inside(t)) return;
        ctx.fillStyle = '#c53030';
        ctx.fillText('⚠', x(t), top + 12 * px);
      });
      ctx.restore();
    }
    plot = new uPlot({
      title: 'Mean arterial pressure, last 24 h, and forecast',
      width: sizeOf(el, 340).width, height: 340,
      scales: { x: { time: true }, y: { range: function (u, a, b) {
        return [Math.min(40, a === null ? 40 : a - 5), Math.max(120, b === null ? 120 : b + 5)];
      } } },
      axes: axes('MAP (mmHg)'),
      series: [
        { label: 'Time', value: function (u, v) { return v === null ? '–' : clock(v * 1000); } },
        { label: 'MAP reading (mmHg)', stroke: '#1a56db', width: 1.5,
          points: { show: true, size: 5 }, spanGaps: false, value: fmtMmHg },
        { label: 'Forecast median', stroke: '#111827', width: 2, dash: [6, 4], spanGaps: true, value: fmtMmHg },
        { label: 'p10 (80 % band)', stroke: 'rgba(234, 88, 12, 0.8)', width: 1, spanGaps: true, value: fmtMmHg },
        { label: 'p90 (80 % band)', stroke: 'rgba(234, 88, 12, 0.8)', width: 1, spanGaps: true, value: fmtMmHg },
        { label: 'p2.5 (95 % band)', stroke: 'rgba(234, 88, 12, 0.35)', width: 1, dash: [2, 3], spanGaps: true, value: fmtMmHg },
        { label: 'p97.5 (95 % band)', stroke: 'rgba(234, 88, 12, 0.35)', width: 1, dash: [2, 3], spanGaps: true, value: fmtMmHg }
      ],
      bands: [
        { series: [4, 3], fill: 'rgba(234, 88, 12, 0.22)' },
        { series: [6, 4], fill: 'rgba(234, 88, 12, 0.09)' },
        { series: [3, 5], fill: 'rgba(234, 88, 12, 0.09)' }
      ],
      hooks: { draw: [line65, markers] }
    }, data(), el);
    var ro = new ResizeObserver(function () { if (plot) plot.setSize(sizeOf(el, 340)); });
    ro.observe(el);
    return {
      update: function () { plot.setData(data()); },
      destroy: function () { ro.disconnect(); plot.destroy(); }
    };
  }

  /* A heart drug's MedicationAdministration → {t, label} (RxNorm codes as
  ** the server takes them: docs/API.md). */
  var DRUGS = { '6918': 'metoprolol', '3827': 'enalapril', '4603': 'furosemide', '3616': 'dobutamine' };
  function drug(r) {
    var name = null;
    ((r.medicationCodeableConcept || {}).coding || []).forEach(function (c) {
      if (DRUGS[c.code]) name = DRUGS[c.code];
    });
    var d = r.dosage || {}, t = fhirTime(r);
    if (!name || !isFinite(t)) return null;
    if (d.dose && d.dose.value !== undefined) return { t: t, label: name + ' ' + Number(d.dose.value) + ' mg' };
    if (d.rateQuantity && d.rateQuantity.value !== undefined)
      return { t: t, label: name + ' ' + Number(d.rateQuantity.value) + ' µg/min' };
    return null;
  }

  function heartPage(p) {
    var chart = null, ctl;
    var st = { readings: [], drugs: [], alerts: [], forecast: [], twin: null, name: p, vitals: {} };
    clear(main);
    var head = h('div.phead');
    var chartBox = h('div.chart', { id: 'map-chart', role: 'img',
                                    'aria-label': 'Mean arterial pressure readings of the last 24 hours and the forecast' });
    var key = h('p.key.small', null,
      h('span.k-line65', null, '- - 65 mmHg (hypotension: the twin alerts when MAP below it is likely within 30 min)'), ' · ',
      h('span.k-ins', null, '◆ heart drug'), ' · ',
      h('span.k-alert', null, '⚠ alert'), ' · forecast median; shaded: 80 % (p10–p90) and 95 % (p2.5–p97.5) bands');
    var summary = h('div.summary');
    var alertsBox = h('ol.timeline', { 'aria-label': 'Alerts, newest first' });
    var paramsBox = h('div');
    add(main, [
      h('p', null, h('a', { href: '#/' }, '← All patients')),
      head,
      h('section.card', { 'aria-labelledby': 'h-map' },
        h('h2', { id: 'h-map' }, 'Mean arterial pressure'), summary, chartBox, key),
      h('div.cols', null,
        h('section.card', { 'aria-labelledby': 'h-alerts' },
          h('h2', { id: 'h-alerts' }, 'Alert timeline'), alertsBox),
        h('section.card', { 'aria-labelledby': 'h-params' },
          h('h2', { id: 'h-params' }, 'Estimated parameters'), paramsBox))
    ]);
    function num(x) { return typeof x === 'number' ? Number(x.toPrecision(3)).toString() : '–'; }
    function render() {
      var tw = st.twin || {};
      twinHeading(head, p, st);
      var last = st.readings.length ? st.readings[st.readings.length - 1] : null;
      var f = {}; (st.forecast || []).forEach(function (x) { f[x.horizon_min] = x; });
      var v = st.vitals;
      clear(summary);
      add(summary, [
        stat('Latest MAP', last ? [h('span.glucose.' + mapClass(last.v), null, mg(last.v)), ' mmHg',
          h('div.small', null, mapWord(last.v))] : 'no readings'),
        stat('Blood pressure', v.sbp && v.dbp ? [mg(v.sbp) + '/' + mg(v.dbp) + ' mmHg'] : '–'),
        stat('Heart rate', v.hr ? [mg(v.hr) + ' /min'] : '–'),
        stat('Data freshness', last ? [ago(last.t), h('div.small', null, 'at ' + clock(last.t))] : '–'),
        [30, 60, 120].map(function (m) {
          return stat('Forecast ' + m + ' min', f[m] ? ['MAP ' + mg(f[m].p50) + ' mmHg',
            h('div.small', null, '80 %: ' + mg(f[m].p10) + '–' + mg(f[m].p90) +
              ' · 95 %: ' + mg(f[m].p025) + '–' + mg(f[m].p975))] : '–');
        })
      ]);
      if (!chart) chart = mapChart(chartBox, st); else chart.update();
      alertTimeline(alertsBox, st.alerts);
      clear(paramsBox);
      var ps = Array.isArray(tw.parameters) ? tw.parameters : [];
      if (!ps.length) add(paramsBox, h('p.muted', null, 'This server does not report parameter estimates for this twin.'));
      else add(paramsBox, h('div.scroll', null, h('table.params', null,
        h('thead', null, h('tr', null, ['Parameter', 'Mean ± SD', '80 % (p10–p90)', 'Unit'].map(
          function (c) { return h('th', { scope: 'col' }, c); }))),
        h('tbody', null, ps.map(function (q) {
          return h('tr', null, h('th', { scope: 'row' }, q.name, q.doc ? h('div.small.muted', null, q.doc) : null),
            h('td.num', null, num(q.mean) + ' ± ' + num(q.sd)),
            h('td.num', null, num(q.p10) + '–' + num(q.p90)),
            h('td', null, q.unit || ''));
        })))));
    }
    function latestOf(code, key) {
      return search('Observation', p, 'http://loinc.org|' + code, null, 1).then(function (rs) {
        if (rs[0] && rs[0].valueQuantity) st.vitals[key] = Number(rs[0].valueQuantity.value);
      }, function () {});
    }
    function loadTwin() {
      return api('/api/twins/' + encodeURIComponent(p)).then(function (tw) {
        if (!tw) throw new Error('no twin for patient ' + p);
        st.twin = tw; st.forecast = tw.forecast || []; st.alerts = tw.alerts || [];
      });
    }
    function loadAll() {
      var since = Date.now() - 24 * 60 * MIN;
      return Promise.all([
        loadTwin(),
        mapReadings(p, since, 1000).then(function (rs) { st.readings = rs; }),
        search('MedicationAdministration', p, null, since, 1000).then(function (rs) {
          st.drugs = rs.map(drug).filter(function (m) { return m && m.t >= since; });
        }),
        latestOf('8867-4', 'hr'),
        search('Observation', p, 'http://loinc.org|85354-9', null, 1).then(function (rs) {
          ((rs[0] || {}).component || []).forEach(function (c) {
            var code = ((c.code || {}).coding || [{}])[0].code, val = Number((c.valueQuantity || {}).value);
            if (code === '8480-6') st.vitals.sbp = val;
            if (code === '8462-4') st.vitals.dbp = val;
          });
        }, function () {}),
        patientName(p).then(function (n) { if (n) st.name = n; })
      ]);
    }
    ctl = livePage(p, st, {
      load: loadAll,
      render: render,
      on: {
        assimilation: function (d) {
          var t = Date.parse(d.time);
          if (!d.accepted || !isFinite(t)) return;
          if (d.kind === 'map') {
            if (!st.readings.length || t > st.readings[st.readings.length - 1].t) st.readings.push({ t: t, v: d.value });
            var cut = Date.now() - 24 * 60 * MIN;
            while (st.readings.length && st.readings[0].t < cut) st.readings.shift();
          } else if (d.kind === 'sbp' || d.kind === 'dbp' || d.kind === 'hr') st.vitals[d.kind] = d.value;
          if (st.twin && /^(map|sbp|dbp|ef|co|weight)$/.test(d.kind)) st.twin.readings += 1;
        },
        forecast: function (d) {
          if (Array.isArray(d.forecast)) st.forecast = d.forecast;
          if (Array.isArray(d.parameters) && st.twin) st.twin.parameters = d.parameters;
        }
      },
      close: function () { if (chart) chart.destroy(); }
    });
    return ctl;
  }

  /* ---- what-if --------------------------------------------------------------- */

  function whatifPanel(p, st) {
    var plots = [];
    var rows = [
      { kind: 'nothing', label: 'No action', on: true },
      { kind: 'bolus', label: 'Bolus', amount: 2, unit: 'U', on: true },
      { kind: 'carbs', label: 'Carbohydrate', amount: 15, unit: 'g', on: true },
      { kind: 'temp_basal', label: 'Temporary basal', amount: 50, unit: '% of basal', dur: 60, on: true }
    ];
    var results = h('div.results', { 'aria-live': 'polite' });
    var meal = h('input', { type: 'number', id: 'wi-meal', min: 0, max: 200, step: 1, value: 0 });
    var form = h('form.whatif', { onsubmit: function (e) { e.preventDefault(); run(); } },
      h('fieldset', null, h('legend', null, 'Actions to compare (each over the next 4 h)'),
        rows.map(function (r, i) {
          r.box = h('input', { type: 'checkbox', id: 'wi-' + i, checked: r.on });
          if (r.amount !== undefined)
            r.input = h('input', { type: 'number', id: 'wi-a' + i, min: 0, step: 'any', value: r.amount,
                                   'aria-label': r.label + ' amount (' + r.unit + ')' });
          if (r.dur !== undefined)
            r.durInput = h('input', { type: 'number', id: 'wi-d' + i, min: 15, step: 15, value: r.dur,
                                      'aria-label': r.label + ' duration (min)' });
          return h('div.cand', null, r.box, h('label', { for: 'wi-' + i }, r.label),
            r.input ? [' ', r.input, ' ', r.unit] : null,
            r.durInput ? [' for ', r.durInput, ' min'] : null);
        })),
      h('p', null, h('label', { for: 'wi-meal' }, 'Planned meal in the scenario (g) '), meal),
      h('button', { type: 'submit', id: 'wi-run' }, 'Compare actions'));
    var el = h('section.card', { 'aria-labelledby': 'h-whatif' },
      h('h2', { id: 'h-whatif' }, 'What if…'),
      h('p.muted.small', null, 'Each action is simulated on the twin\'s ensemble; results ranked by the server ' +
        '(time in range 70–180, probabilities of readings below 70 and 54 mg/dL). The twin is not changed.'),
      form, results);

    function run() {
      var cands = rows.filter(function (r) { return r.box.checked; }).map(function (r) {
        var c = { kind: r.kind };
        if (r.input) c.amount = Number(r.input.value);
        if (r.durInput) c.duration_min = Number(r.durInput.value);
        return c;
      });
      clear(results);
      if (!cands.length) { add(results, h('p.error', null, 'Choose at least one action.')); return; }
      add(results, h('p.muted', null, 'Simulating ' + cands.length + ' actions…'));
      post('/api/twins/' + encodeURIComponent(p) + '/whatif',
           { candidates: cands, meal_g: Number(meal.value) || 0 }).then(show, function (e) {
        clear(results);
        add(results, h('p.error', { role: 'alert' }, 'What-if failed: ' + e.message));
      });
    }
    function show(j) {
      clear(results);
      plots.forEach(function (u) { u.destroy(); }); plots = [];
      var tw = st.twin || {};
      /* bg t_min is on the twin's clock: its origin is its time minus t_min. */
      var origin = tw.time && tw.t_min !== null ? Date.parse(tw.time) - tw.t_min * MIN : Date.now();
      var cards = (j.ranked || []).map(function (r) {
        var box = h('div.mini');
        var card = h('article.outcome' + (r.rank === 1 ? '.best' : ''), { 'data-rank': r.rank },
          h('h3', null, '#' + r.rank + ' ', r.action, r.rank === 1 ? h('span.badge.good', null, '★ best') : null),
          h('dl', null,
            h('dt', null, 'Time in range'), h('dd', null, pct(r.tir)),
            h('dt', null, 'P(< 70 mg/dL)'), h('dd', null, pct(r.p_below70), r.p_below70 > 0.05 ? ' ⚠' : ''),
            h('dt', null, 'P(< 54 mg/dL)'), h('dd', null, pct(r.p_below54), r.p_below54 > 0.01 ? ' ⚠' : ''),
            h('dt', null, 'Mean'), h('dd', null, mg(r.mean_mgdl) + ' mg/dL')),
          box, h('p.small.muted', null, 'p10 / p50 / p90, mg/dL; ' + (r.reason || '')));
        return { card: card, box: box, bg: r.bg || [] };
      });
      add(results, h('div.outcomes', null, cards.map(function (c) { return c.card; })));
      cards.forEach(function (c) { var u = whatifChart(c.box, c.bg, origin); if (u) plots.push(u); });
    }
    return { el: el, close: function () { plots.forEach(function (u) { u.destroy(); }); } };
  }

  /* ---- the session ------------------------------------------------------------ */

  var sessionEl = document.getElementById('session');
  var INACTIVE = 'Signed out after inactivity: sign in again to continue.';
  var lastInput = Date.now();
  ['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart'].forEach(function (ev) {
    window.addEventListener(ev, function () { lastInput = Date.now(); }, { capture: true, passive: true });
  });

  /* Who is signed in, and the sign-out button, in the header. */
  function renderSession() {
    clear(sessionEl);
    sessionEl.hidden = !me;
    if (!me) return;
    add(sessionEl, [
      h('span.who', { id: 'who' }, 'Signed in as ', h('strong', null, me.user || me.actor || '–'),
        ' (', me.role || '–', ')'),
      h('button.signout', { type: 'button', id: 'signout', onclick: signOut }, 'Sign out')]);
  }
  function signedIn(j) {
    me = j;
    csrf = j.csrf || null;
    lastInput = Date.now();
    renderSession();
    route();
  }
  /* Back to the form: the page's requests and live updates stop, what this
  ** tab kept of the patients is dropped. */
  function endSession(msg, kind) {
    me = null; csrf = null; paramHistory = {};
    if (page) { page.close(); page = null; }
    renderSession();
    say('');
    signinForm(msg, kind);
  }
  /* A request answered 401 while signed in: the server ended the session
  ** (idle expiry, the absolute limit, a restart). Several requests may fail
  ** together: only the first one acts. */
  function expired() { if (me) endSession(INACTIVE, 'error'); }
  function signOut() {
    var b = document.getElementById('signout');
    if (b) b.disabled = true;
    request('/api/logout', { method: 'POST' }).then(function () {
      endSession('You are signed out.', 'note');
    }, function (e) {
      if (b) b.disabled = false;
      say('Could not sign out (' + e.message + '): the session is still open');
    });
  }
  /* Automatic logoff: no key, pointer, touch or wheel input for the
  ** session's idle time ends it here too, since the list's own refreshes
  ** would otherwise keep it alive on the server. */
  setInterval(function () {
    var idle = 1000 * ((me && me.idle_timeout_s) || 900);
    if (me && Date.now() - lastInput > idle) {
      request('/api/logout', { method: 'POST' }).catch(function () {});
      endSession(INACTIVE, 'error');
    }
  }, 1000);

  function signinForm(msg, kind) {
    clear(main);
    document.title = 'medtwin — sign in';
    var user = h('input', { id: 'si-user', name: 'user', type: 'text', autocomplete: 'username',
                            autocapitalize: 'none', spellcheck: 'false', required: true });
    var pass = h('input', { id: 'si-pass', name: 'password', type: 'password',
                            autocomplete: 'current-password', required: true });
    var note = h('p', { id: 'si-msg', role: kind === 'error' ? 'alert' : 'status',
                        'class': kind === 'error' ? 'error' : 'muted' }, msg || '');
    var go = h('button', { type: 'submit', id: 'si-go' }, 'Sign in');
    function tell(text, k) {
      note.className = k === 'error' ? 'error' : 'muted';
      note.setAttribute('role', k === 'error' ? 'alert' : 'status');
      note.textContent = text;
    }
    function fail(text) {
      go.disabled = false;
      pass.value = '';
      tell(text, 'error');
      pass.focus();
    }
    function submit(e) {
      e.preventDefault();
      go.disabled = true;
      tell('Signing in…', 'note');
      request('/api/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                              body: JSON.stringify({ user: user.value, password: pass.value }) })
        .then(function (r) {
          return r.json().catch(function () { return null; }).then(function (j) {
            if (r.ok && j) { pass.value = ''; signedIn(j); return; }
            var d = capital(diagnostics(j));
            if (r.status === 429) {
              var wait = Number(r.headers.get('Retry-After'));
              fail((d || 'Too many failed attempts; try again later') +
                   (wait > 0 ? ' (in about ' + Math.ceil(wait / 60) + ' min).' : '.'));
            } else if (r.status === 401) fail((d || 'The user name or password is wrong') + '.');
            else fail('Sign-in failed: ' + r.status + (d ? ': ' + d : '') + '.');
          });
        }, function (err) { fail('Could not reach the server: ' + err.message); });
    }
    add(main, h('form.signin', { id: 'signin', 'aria-labelledby': 'h-signin', onsubmit: submit },
      h('h1', { id: 'h-signin' }, 'Sign in'),
      h('p.muted', null, 'Patient data is shown to signed-in users only, and only for the patients ' +
        'their role and care team allow.'),
      note,
      h('p', null, h('label', { 'for': 'si-user' }, 'User name'), user),
      h('p', null, h('label', { 'for': 'si-pass' }, 'Password'), pass),
      go));
    user.focus();
  }

  /* ---- routing ----------------------------------------------------------------- */

  function route() {
    if (page) page.close();
    page = null;
    if (!me) return; /* signed out: the form stays */
    say('');
    var m = /^#\/patient\/(.+)$/.exec(location.hash);
    page = m ? openPatient(decodeURIComponent(m[1])) : listPage();
    main.focus({ preventScroll: true });
  }
  window.addEventListener('hashchange', route);

  /* Start: signed in already (a session cookie from earlier in this browser)
  ** or the form. */
  request('/api/me').then(function (r) {
    if (r.status === 401) { signinForm('', 'note'); return; }
    return r.json().then(function (j) {
      if (!r.ok) throw new Error(r.status + ': ' + (diagnostics(j) || r.statusText));
      signedIn(j);
    });
  }).catch(function (e) {
    clear(main);
    add(main, h('p.error', { role: 'alert' }, 'Could not reach the server: ' + e.message));
  });
})();
