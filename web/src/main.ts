// Dashboard entry: header with navigation (#chat, #map, #traces) and the bearer-token setting,
// then the three pages, built once and shown by the URL hash. The token comes from ?token= (then
// dropped from the address bar and kept for this tab in sessionStorage) or the Settings field.
import './style.css';
import { App } from './app.ts';
import { ApiError } from './lib/api.ts';
import { ChatPage } from './pages/chat.ts';
import { MapPage } from './pages/map.ts';
import { TracesPage } from './pages/traces.ts';
import { h } from './ui/dom.ts';

const TOKEN_KEY = 'limbic-token';

function initialToken(): string | null {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    history.replaceState(null, '', url.toString());
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

const app = new App(initialToken());
const chat = new ChatPage(app);
const map = new MapPage(app);
const traces = new TracesPage(app);
const pages = { chat, map, traces } as const;
type PageName = keyof typeof pages;

const banner = h('div', { class: 'banner', hidden: true, 'data-testid': 'banner' });
const modelLabel = h('span', { class: 'model', 'data-testid': 'model' }, 'connecting…');
const tokenField = h('input', { type: 'password', placeholder: 'bearer token', autocomplete: 'off', value: app.client.token ?? '', 'data-testid': 'token' });
const settings = h(
  'details',
  { class: 'settings' },
  h('summary', {}, 'Settings'),
  h(
    'form',
    {
      onsubmit: (e: Event) => {
        e.preventDefault();
        app.client.token = tokenField.value.trim() || null;
        if (app.client.token) sessionStorage.setItem(TOKEN_KEY, app.client.token);
        else sessionStorage.removeItem(TOKEN_KEY);
        void connect();
      },
    },
    h('label', {}, 'Bearer token ', tokenField),
    h('button', { type: 'submit' }, 'Apply'),
  ),
);
const tabs = (Object.keys(pages) as PageName[]).map((name) => h('a', { href: `#${name}`, class: 'tab', 'data-tab': name }, { chat: 'Chat', map: 'Emotion map', traces: 'Traces' }[name]));
document.body.append(h('header', { class: 'top' }, h('h1', {}, 'limbic'), h('nav', {}, ...tabs), modelLabel, settings), banner, h('main', {}, chat.el, map.el, traces.el));

function route(): void {
  const name = (location.hash.slice(1) || 'chat') as PageName;
  const current: PageName = name in pages ? name : 'chat';
  for (const [k, p] of Object.entries(pages)) p.el.hidden = k !== current;
  for (const t of tabs) t.classList.toggle('on', t.dataset['tab'] === current);
  if (current === 'traces') void traces.refresh();
  if (current === 'chat') chat.onShow(); // the chart sizes itself to its (now visible) box
}

function showError(err: unknown): void {
  const e = err as Error;
  banner.hidden = false;
  banner.textContent = `Cannot reach the limbic server: ${e.message}${e instanceof ApiError && e.hint ? ` — ${e.hint}` : ''}`;
  if (e instanceof ApiError && e.status === 401) settings.open = true;
}

async function connect(): Promise<void> {
  try {
    const [models, emotions] = await Promise.all([app.client.models(), app.client.emotions()]);
    app.models = models;
    app.emotions = emotions;
    banner.hidden = true;
    const m = app.model();
    modelLabel.textContent = m ? `${m.id}${m.limbic?.chat_template === false ? ' (completion)' : ''} · ${emotions.emotions.length} emotions · layer ${emotions.default_layer}` : 'no model';
    chat.init();
    map.init();
    document.body.setAttribute('data-ready', 'true');
  } catch (err) {
    modelLabel.textContent = 'offline';
    showError(err);
  }
}

addEventListener('hashchange', route);
route();
void connect();
