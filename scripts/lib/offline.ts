export { assertPortsFree, type Offline, startOffline } from './sls.js';
