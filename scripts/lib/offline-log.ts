/**
 * What a person watching `npm start` wants from serverless-offline's output: one line per request
 * (method, path, status, milliseconds, function) and every WARN/ERROR the functions log, readably, instead
 * of the functions' JSON and the emulator's own chatter. Turns the output into such lines as it arrives.
 */
const LEVEL_COLOURS: Record<string, string> = { WARN: '\x1b[33m', ERROR: '\x1b[31m', CRITICAL: '\x1b[31m' };
const RESET = '\x1b[0m';

/** Fields of the access log line (shared/http/handler.ts) and of any Powertools log line. */
interface LogLine {
  level?: string;
  message?: string;
  timestamp?: string;
  function?: string;
  function_name?: string;
  method?: string;
  path?: string;
  status?: number;
  latencyMs?: number;
  code?: string;
  error?: { name?: string; message?: string; code?: string };
  [key: string]: unknown;
}

const ACCESS_MESSAGES = new Set(['request', 'request rejected', 'request denied', 'request failed']);
/** serverless-offline's own lines that the access log already says better. */
const CHATTER = [
  /^\s*$/,
  /^(GET|POST|PUT|DELETE|PATCH|OPTIONS) \S+ \(λ: /,
  /^\(λ: \S+\) RequestId: /,
  /^Successfully invoked scheduled function/,
  /^Invoke \(λ: /,
];

const time = (timestamp: string | undefined) => (timestamp ?? new Date().toISOString()).slice(11, 19);

/** One output line of serverless-offline, as a person should see it; null to leave it out. */
export function formatOfflineLine(raw: string, colour = false): string | null {
  const line = raw.trimEnd();
  if (!line.startsWith('{')) return CHATTER.some((pattern) => pattern.test(line)) ? null : line;
  let entry: LogLine;
  try {
    entry = JSON.parse(line) as LogLine;
  } catch {
    return line;
  }
  const level = entry.level ?? 'INFO';
  const fn = entry.function ?? String(entry.function_name ?? '').replace(/^.*-/, '');
  const paint = (text: string) => (colour && LEVEL_COLOURS[level] ? `${LEVEL_COLOURS[level]}${text}${RESET}` : text);
  if (entry.message && ACCESS_MESSAGES.has(entry.message) && entry.method) {
    const error = entry.code ? `  ${entry.code}${entry.error?.message ? `: ${entry.error.message}` : ''}` : '';
    return paint(
      `${time(entry.timestamp)}  ${entry.method.padEnd(6)} ${String(entry.path ?? '').padEnd(32)} ${entry.status}  ${String(Math.round(entry.latencyMs ?? 0)).padStart(4)} ms  ${fn}${error}`,
    );
  }
  if (level !== 'WARN' && level !== 'ERROR' && level !== 'CRITICAL') return null;
  const detail = entry.error ? ` — ${entry.error.name ?? 'Error'}: ${entry.error.message ?? ''}` : '';
  return paint(`${time(entry.timestamp)}  ${level.padEnd(5)}  ${fn}: ${entry.message ?? ''}${detail}`);
}

/** Feeds chunks of output in, calls `print` with each formatted line (lines may span chunks). */
export function offlineLogPrinter(print: (line: string) => void, colour = false): (chunk: string) => void {
  let rest = '';
  return (chunk) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      const formatted = formatOfflineLine(line, colour);
      if (formatted !== null) print(formatted);
    }
  };
}
