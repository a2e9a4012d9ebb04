import { mount } from 'svelte';
import App from './App.svelte';
import WebApp from './WebApp.svelte';
import { TauriClient } from './lib/client/tauri';
import './app.css';

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app');

// Inside the desktop app Tauri injects its IPC bridge; anywhere else the page was served by
// `syncdesk-cli serve`, whose API answers on the same origin.
const inTauri = '__TAURI_INTERNALS__' in window;

export default inTauri
  ? mount(App, { target, props: { client: new TauriClient() } })
  : mount(WebApp, { target, props: { baseUrl: window.location.origin } });
