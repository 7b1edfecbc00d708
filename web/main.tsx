import { render } from 'preact';
import { App } from './app.js';
import './console.css';

const root = document.getElementById('app')!;
// The page's "Loading the console…" placeholder goes: Preact adds to a container, it does not replace it.
root.textContent = '';
render(<App />, root);
