import { mount } from 'svelte';
import App from './App.svelte';
import { TauriClient } from './lib/client/tauri';
import './app.css';

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app');

export default mount(App, { target, props: { client: new TauriClient() } });
