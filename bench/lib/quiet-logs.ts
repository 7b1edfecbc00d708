/**
 * Imported first by benchmark scripts that load the functions' code statically. shared/logger.ts reads
 * LOG_LEVEL once, when it is first evaluated, and Powertools resets a later `logger.setLogLevel()` to that
 * initial level on every warm invocation (its debug-sampling refresh), so the level must be in the
 * environment before anything imports the logger. Benchmarks want the numbers, not an access log line
 * per request. An explicit LOG_LEVEL still wins.
 */
process.env.LOG_LEVEL ??= 'ERROR';

export {};
