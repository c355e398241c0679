// hipkit emulator UI: local times, live updates over SSE (reconnecting, with a polling
// fallback), forms without reloads. Plain JavaScript, no build step.
(function () {
  'use strict';
  var body = document.body;
  var statusEl = document.getElementById('live-status');
  var flashEl = document.getElementById('flash');

  function setStatus(text) { if (statusEl) statusEl.textContent = text; }
  function flash(text) {
    if (!flashEl) return;
    flashEl.textContent = text;
    flashEl.hidden = !text;
  }

  // One formatter for every time on the page: toLocaleTimeString() builds a new one per call,
  // which costs more than the rest of a 1,000-message page.
  var clock = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit', second: '2-digit' });
  function localTime(d) { return clock.format(d); }

  function localTimes(root) {
    root.querySelectorAll('time[datetime]').forEach(function (t) {
      var d = new Date(t.getAttribute('datetime'));
      if (!isNaN(d)) t.textContent = localTime(d);
    });
    root.querySelectorAll('time[data-epoch]').forEach(function (t) {
      var d = new Date(Number(t.getAttribute('data-epoch')) * 1000);
      if (!isNaN(d)) { t.textContent = localTime(d); t.title = d.toISOString(); }
    });
  }

  function nodes(html) {
    var t = document.createElement('template');
    t.innerHTML = html;
    localTimes(t.content);
    return t.content;
  }

  localTimes(document);

  var live = body.getAttribute('data-live');
  var fragmentUrl = body.getAttribute('data-fragment');
  var region = document.getElementById(body.getAttribute('data-region') || '');
  var appendMode = body.getAttribute('data-append') === '1';
  var roomId = body.getAttribute('data-room');
  var isIndex = !!document.getElementById('room-list');
  var isChat = body.hasAttribute('data-chat');

  function nearBottom() {
    return window.innerHeight + window.scrollY >= document.body.scrollHeight - 120;
  }

  function showEmpty(id, empty) {
    var el = document.getElementById(id);
    if (el) el.hidden = !empty;
  }

  function appendMessages(html) {
    if (!region) return;
    var stick = nearBottom();
    var frag = nodes(html);
    Array.prototype.slice.call(frag.children).forEach(function (li) {
      if (!document.getElementById(li.id)) region.appendChild(li);
    });
    showEmpty('no-messages', region.children.length === 0);
    if (stick && region.lastElementChild) region.lastElementChild.scrollIntoView({ block: 'end' });
  }

  function lastId() {
    var last = region && region.lastElementChild;
    return last ? last.getAttribute('data-id') : null;
  }

  var refreshing = false;
  function refresh() {
    if (!fragmentUrl || !region || refreshing) return;
    refreshing = true;
    var url = fragmentUrl;
    var after = appendMode ? lastId() : null;
    if (after) url += '?after=' + encodeURIComponent(after);
    fetch(url, { cache: 'no-store' }).then(function (resp) {
      if (!resp.ok) { setStatus('room unavailable (' + resp.status + ')'); return null; }
      var reset = resp.headers.get('x-reset') !== '0';
      return resp.text().then(function (html) {
        if (appendMode && !reset) { appendMessages(html); return; }
        region.replaceChildren(nodes(html));
        showEmpty('no-messages', region.children.length === 0);
        showEmpty('no-firings', region.children.length === 0);
      });
    }).catch(function () { setStatus('offline'); })
      .then(function () { refreshing = false; });
  }

  function onMessage(d) {
    if (roomId) {
      if (String(d.room_id) === roomId) appendMessages(d.html);
      return;
    }
    if (!isIndex) return;
    var row = document.querySelector('.room-row[data-room="' + d.room_id + '"]');
    if (!row) { refresh(); return; }
    var text = row.querySelector('.latest');
    if (text) {
      text.replaceChildren(nodes('<time></time> <span class="latest-text"></span>'));
      var time = text.querySelector('time');
      time.setAttribute('datetime', d.date);
      time.title = d.date;
      time.textContent = localTime(new Date(d.date));
      text.querySelector('.latest-text').textContent = d.summary;
    }
    var unread = row.querySelector('.unread');
    if (unread) { unread.textContent = Number(unread.textContent) + 1; unread.classList.remove('none'); }
    var count = row.querySelector('.count');
    if (count) count.textContent = (parseInt(count.textContent, 10) + 1) + ' messages';
  }

  var handlers = {
    message: onMessage,
    room: function (d) {
      var list = document.getElementById('room-list');
      if (list && !list.querySelector('.room-row[data-room="' + d.room_id + '"]')) {
        var empty = list.querySelector('.empty');
        if (empty) empty.remove();
        list.appendChild(nodes(d.html));
      }
    },
    room_deleted: function (d) {
      if (roomId) { setStatus('this room was deleted'); return; }
      var row = document.querySelector('.room-row[data-room="' + d.room_id + '"]');
      if (row) row.remove();
    },
    cleared: function () {
      if (roomId && region) { region.replaceChildren(); showEmpty('no-messages', true); } else if (isIndex) refresh();
    },
    deleted: function (d) {
      var li = document.getElementById('m-' + d.id);
      if (li) li.remove();
      if (roomId) showEmpty('no-messages', region && region.children.length === 0); else if (isIndex) refresh();
    },
    firing: function (d) {
      var table = document.getElementById('firings');
      if (!table) return;
      table.insertBefore(nodes(d.html), table.firstChild);
      showEmpty('no-firings', false);
    },
    private: function () { if (isIndex || isChat) refresh(); },
    reset: refresh,
    resync: refresh
  };

  var source = null;
  var polling = null;
  var connectedOnce = false;
  var failures = 0;

  function startPolling() {
    if (polling) return;
    if (source) source.close();
    setStatus('polling every 2 s');
    refresh();
    polling = setInterval(refresh, 2000);
  }

  function connect() {
    if (!window.EventSource) { startPolling(); return; }
    source = new EventSource(live);
    var helloSeen = false;
    // A proxy that buffers the stream lets no hello through: poll instead.
    var helloTimer = setTimeout(function () { if (!helloSeen) startPolling(); }, 5000);
    source.addEventListener('hello', function () {
      helloSeen = true;
      clearTimeout(helloTimer);
      if (connectedOnce) refresh(); // catch up after a reconnect (e.g. an emulator restart)
      connectedOnce = true;
      failures = 0;
      setStatus('live');
    });
    Object.keys(handlers).forEach(function (name) {
      source.addEventListener(name, function (ev) {
        var data = {};
        try { data = JSON.parse(ev.data); } catch (e) { /* hello-less events carry {} */ }
        handlers[name](data);
      });
    });
    source.onerror = function () {
      failures += 1;
      setStatus('reconnecting…');
      if (!connectedOnce && failures >= 3) { startPolling(); return; }
      if (source.readyState === EventSource.CLOSED) {
        clearTimeout(helloTimer);
        setTimeout(function () { if (!polling) connect(); }, 2000);
      }
    };
  }

  // `?live=poll` forces the fallback (for proxies that break streams in other ways).
  if (live && /[?&]live=poll\b/.test(location.search)) startPolling();
  else if (live) connect();

  if (roomId) {
    window.addEventListener('pagehide', function () {
      if (navigator.sendBeacon) navigator.sendBeacon('/rooms/' + roomId + '/read');
    });
  }

  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    if (!form.matches('form[data-ajax]')) return;
    ev.preventDefault();
    var question = form.getAttribute('data-confirm');
    if (question && !window.confirm(question)) return;
    var data = new URLSearchParams(new FormData(form));
    fetch(form.action, { method: 'POST', body: data, redirect: 'manual' }).then(function (resp) {
      if (resp.type === 'opaqueredirect' || resp.ok) {
        flash('');
        var li = form.closest('li.msg');
        if (li) li.remove();
        if (form.action.slice(-6) === '/clear' && region) { region.replaceChildren(); showEmpty('no-messages', true); }
        if (form.hasAttribute('data-reset')) {
          var text = form.querySelector('textarea');
          if (text) { text.value = ''; text.focus(); }
        }
        if (polling) refresh();
        return;
      }
      return resp.json().then(function (j) {
        flash(j && j.error ? j.error.message : 'Failed: HTTP ' + resp.status);
      }, function () { flash('Failed: HTTP ' + resp.status); });
    }).catch(function () { flash('The emulator did not answer.'); });
  });

  document.addEventListener('keydown', function (ev) {
    var t = ev.target;
    if (ev.key === 'Enter' && !ev.shiftKey && t.matches && t.matches('.composer textarea')) {
      ev.preventDefault();
      if (t.value.trim()) t.form.requestSubmit();
    }
  });
})();
