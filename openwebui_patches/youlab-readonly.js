/*
 * YouLab: agent threads are read-only in the page.
 *
 * Installed by `youlab patch apply` next to Open WebUI's /static/loader.js, which loads it on every page.
 * On a chat route (/c/<id>) it asks the server, with the student's own session, whether the chat is an agent
 * thread (its meta or its folder's meta says so; the server-side guard also reads the thread registry); if so it hides the composer and the edit / regenerate /
 * continue controls and shows a banner instead. The server refuses messages in agent threads regardless: this
 * only spares the student a box that can only answer with an error. Any failure leaves the page untouched.
 */
(function () {
	'use strict';
	if (window.__youlabReadonly) return;

	var AGENT_MODEL_PREFIX = 'youlab_agents.';
	var AGENT_TYPE = 'background_agent';
	var ROOT_CLASS = 'youlab-readonly-thread';
	var BANNER_ID = 'youlab-readonly-banner';
	var FOLDER_CACHE_MS = 60000;
	// Controls under messages that write into the thread (edit, regenerate, continue, and a code block's edit/save).
	// Ids and classes come from Open WebUI 0.12.4's build; the icon paths cover the buttons that only have a
	// translated aria-label (Edit, Regenerate), in any UI language.
	var MESSAGE_CONTROLS = [
		'#continue-response-button',
		'.regenerate-response-button',
		'.edit-user-message-button',
		'button[aria-label="Edit"]',
		'button[aria-label="Regenerate"]',
		'button[aria-label="Continue Response"]',
		'.save-code-button'
	];
	var MESSAGE_CONTROLS_BY_ICON = [
		'button:has(svg path[d^="M21.1679 8C19.6247"])',
		'button:has(svg path[d^="M14.3632 5.65156"])',
		// A diff code block's "Edit" toggle (the only button there with aria-pressed); "Save" writes the message.
		'div:has(> .copy-code-button) > button[aria-pressed]'
	];

	var current = { chatId: null, thread: null, decided: false, seq: 0 };
	var messageControls = MESSAGE_CONTROLS.join(',');
	var folderCache = new Map();

	function chatIdFromPath(pathname) {
		var match = /^\/c\/([^/?#]+)\/?$/.exec(pathname || '');
		return match ? decodeURIComponent(match[1]) : null;
	}

	function getJSON(url) {
		var token = null;
		try {
			token = window.localStorage.getItem('token');
		} catch (e) {
			return Promise.resolve(null);
		}
		if (!token) return Promise.resolve(null);
		return fetch(url, {
			headers: { Authorization: 'Bearer ' + token, Accept: 'application/json' },
			credentials: 'include'
		})
			.then(function (res) {
				return res.ok ? res.json() : null;
			})
			.catch(function () {
				return null;
			});
	}

	function getFolder(folderId) {
		var cached = folderCache.get(folderId);
		if (cached && Date.now() - cached.at < FOLDER_CACHE_MS) return cached.value;
		var value = getJSON('/api/v1/folders/' + encodeURIComponent(folderId));
		folderCache.set(folderId, { at: Date.now(), value: value });
		return value;
	}

	function agentModel(chat) {
		var models = (chat.chat && Array.isArray(chat.chat.models) && chat.chat.models) || [];
		for (var i = 0; i < models.length; i++) {
			if (typeof models[i] === 'string' && models[i].indexOf(AGENT_MODEL_PREFIX) === 0) return models[i];
		}
		return null;
	}

	function formatDate(value) {
		if (value === null || value === undefined || value === '') return null;
		// Open WebUI stores epoch seconds; YouLab's meta stores ISO 8601.
		var date = typeof value === 'number' ? new Date(value < 1e12 ? value * 1000 : value) : new Date(value);
		if (isNaN(date.getTime())) return null;
		try {
			return new Intl.DateTimeFormat(undefined, { dateStyle: 'long' }).format(date);
		} catch (e) {
			return date.toDateString();
		}
	}

	// Resolves to {agent, date} for an agent thread, null for anything else (including any failure).
	// The thread markers are the chat's meta and its folder's meta. An agent model in chat.models is not one: an
	// admin's own chat with an agent model (a manual run) is an ordinary chat they can keep writing in.
	function classify(chatId) {
		return getJSON('/api/v1/chats/' + encodeURIComponent(chatId)).then(function (chat) {
			if (!chat || typeof chat !== 'object') return null;
			var youlab = (chat.meta && typeof chat.meta.youlab === 'object' && chat.meta.youlab) || {};
			var model = agentModel(chat);
			var byMeta = youlab.type === AGENT_TYPE;
			var needFolder = chat.folder_id && (!byMeta || !youlab.agent);
			var folderPromise = needFolder ? getFolder(chat.folder_id) : Promise.resolve(null);
			return folderPromise.then(function (folder) {
				var byFolder = !!(folder && folder.meta && folder.meta.type === AGENT_TYPE);
				if (!(byMeta || byFolder)) return null;
				var agent =
					youlab.agent ||
					(byFolder && folder.name) ||
					(model && model.slice(AGENT_MODEL_PREFIX.length)) ||
					youlab.task ||
					'an agent';
				var date = formatDate(youlab.created_at) || formatDate(chat.created_at) || 'an unknown date';
				return { agent: String(agent), date: date, kind: String(youlab.kind || '') };
			});
		});
	}

	function composer() {
		var container = document.getElementById('message-input-container');
		if (!container) return null;
		return container.closest('form') || container;
	}

	function isShown(element) {
		return !!element && element.getClientRects().length > 0;
	}

	function bannerText(thread) {
		// The views YouLab writes itself, not one agent: the student's memory (docs/memory-view.md) and the course
		// dashboard of admins and teachers (docs/dashboard.md).
		if (thread.kind === 'memory_view') {
			return 'Read-only: what your tutor knows about you. Change it with the buttons under it.';
		}
		if (thread.kind === 'course_dashboard') {
			return "Read-only: the course's runs, health and students, kept current by YouLab. Act with the buttons under it.";
		}
		return (
			'Read-only. Written by ' +
			thread.agent +
			' on ' +
			thread.date +
			'. Review its suggestions with the buttons under its report.'
		);
	}

	function ensureBanner(thread) {
		var banner = document.getElementById(BANNER_ID);
		var text = bannerText(thread);
		if (!banner) {
			banner = document.createElement('div');
			banner.id = BANNER_ID;
			banner.setAttribute('role', 'status');
			banner.className = 'youlab-readonly-banner';
		}
		if (banner.textContent !== text) banner.textContent = text;
		var form = composer();
		if (form && form.parentNode) {
			if (banner.nextSibling !== form || banner.parentNode !== form.parentNode) {
				form.parentNode.insertBefore(banner, form);
			}
		} else if (!banner.isConnected) {
			// The composer is not mounted yet; the DOM observer moves the banner above it once it is.
			var messages = document.getElementById('messages-container');
			var host = messages && messages.parentNode;
			if (host) host.appendChild(banner);
		}
		var form2 = composer();
		var active = document.activeElement;
		if (form2 && active && form2.contains(active) && !isShown(form2) && active.blur) active.blur();
	}

	function render() {
		var root = document.documentElement;
		if (current.thread) {
			if (!root.classList.contains(ROOT_CLASS)) root.classList.add(ROOT_CLASS);
			ensureBanner(current.thread);
		} else {
			if (root.classList.contains(ROOT_CLASS)) root.classList.remove(ROOT_CLASS);
			var banner = document.getElementById(BANNER_ID);
			if (banner) banner.remove();
		}
	}

	function sync() {
		var chatId = chatIdFromPath(window.location.pathname);
		if (chatId === current.chatId) {
			render();
			return;
		}
		// A new route: show the stock page at once, then switch to read-only when the server says so.
		var seq = ++current.seq;
		current.chatId = chatId;
		current.thread = null;
		current.decided = !chatId;
		render();
		if (!chatId) return;
		classify(chatId)
			.catch(function () {
				return null;
			})
			.then(function (thread) {
				if (seq !== current.seq) return;
				current.thread = thread;
				current.decided = true;
				render();
			});
	}

	// Blocks input that would write into an agent thread: keys, paste and drops into a hidden composer, and clicks
	// on writing controls (keyboard shortcuts "click" hidden buttons too). A composer someone made visible again is
	// left alone: the server-side guard answers it.
	function guard(event) {
		if (!current.thread) return;
		var target = event.target;
		if (!target || typeof target.closest !== 'function') return;
		var form = composer();
		var inHiddenComposer = form && form.contains(target) && !isShown(form);
		var control = event.type === 'click' && target.closest(messageControls);
		var blocked = control && control.closest('#messages-container');
		if (inHiddenComposer || blocked) {
			event.preventDefault();
			event.stopImmediatePropagation();
		}
	}

	function watchHistory() {
		['pushState', 'replaceState'].forEach(function (name) {
			var original = window.history[name];
			if (typeof original !== 'function') return;
			window.history[name] = function () {
				var result = original.apply(this, arguments);
				schedule();
				return result;
			};
		});
		window.addEventListener('popstate', schedule);
	}

	var scheduled = false;
	function schedule() {
		if (scheduled) return;
		scheduled = true;
		window.requestAnimationFrame(function () {
			scheduled = false;
			try {
				sync();
			} catch (e) {
				if (window.console) console.warn('youlab read-only threads:', e);
			}
		});
	}

	// Open WebUI's page saves the whole chat after an action (the review buttons) and after some UI changes. On an
	// agent thread the server refuses any save but a rename (its write guard), which the page would show as an
	// error; instead the page is given the thread as the server holds it, so it shows the server's truth.
	function keepThreadSaves() {
		var original = window.fetch;
		if (typeof original !== 'function') return;
		window.fetch = function (input, init) {
			try {
				var method = ((init && init.method) || (input && input.method) || 'GET').toUpperCase();
				var url = new URL(typeof input === 'string' ? input : input.url, window.location.href);
				var match = /^\/api\/v1\/chats\/([^/]+)\/?$/.exec(url.pathname);
				if (method === 'POST' && match && current.thread && decodeURIComponent(match[1]) === current.chatId) {
					var body = init && typeof init.body === 'string' ? JSON.parse(init.body) : null;
					var chat = body && body.chat;
					var renameOnly = chat && typeof chat === 'object' && Object.keys(chat).every(function (k) {
						return k === 'title';
					});
					if (!renameOnly) {
						return original.call(this, url.toString(), {
							method: 'GET',
							headers: init && init.headers,
							credentials: (init && init.credentials) || 'include'
						});
					}
				}
			} catch (e) {
				// Anything unexpected: send the request as the page made it (the server decides).
			}
			return original.apply(this, arguments);
		};
	}

	function loadStyles() {
		var script = document.currentScript || document.querySelector('script[src*="youlab-readonly.js"]');
		var query = script && script.src.indexOf('?') >= 0 ? script.src.slice(script.src.indexOf('?')) : '';
		var link = document.createElement('link');
		link.rel = 'stylesheet';
		link.href = '/static/youlab-readonly.css' + query;
		document.head.appendChild(link);
	}

	function start() {
		window.__youlabReadonly = {
			// For tests and debugging: the route's chat id, whether the server has answered, and the verdict.
			state: function () {
				return { chatId: current.chatId, decided: current.decided, thread: current.thread };
			}
		};
		try {
			document.querySelector(':has(*)');
			messageControls = MESSAGE_CONTROLS.concat(MESSAGE_CONTROLS_BY_ICON).join(',');
		} catch (e) {
			// A browser without :has() still gets the id, class and English label selectors.
		}
		loadStyles();
		keepThreadSaves();
		watchHistory();
		['keydown', 'keypress', 'paste', 'drop', 'submit', 'click'].forEach(function (type) {
			window.addEventListener(type, guard, true);
		});
		// Svelte re-renders the composer (and messages) at will; re-assert the view after DOM changes.
		new MutationObserver(schedule).observe(document.documentElement, { childList: true, subtree: true });
		schedule();
	}

	try {
		start();
	} catch (e) {
		if (window.console) console.warn('youlab read-only threads disabled:', e);
	}
})();
