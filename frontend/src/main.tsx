import { render } from 'preact';
import './styles.css';
import { App } from './app';
import { refreshSession, refreshVersion } from './state/app';

void refreshSession();
void refreshVersion();
render(<App />, document.getElementById('app')!);
