export { portAnswers, waitFor } from './process.js';
