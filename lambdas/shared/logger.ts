/**
 * One structured logger per function, created at module scope: a JSON line per entry, shaped
 * like Powertools Logger's (`level`, `message`, `timestamp`, `service`, `xray_trace_id`, then
 * the attributes; an `Error` as its `name`, `message`, `stack` and `cause`), at the level
 * `POWERTOOLS_LOG_LEVEL`, `LOG_LEVEL` or `AWS_LAMBDA_LOG_LEVEL` names (default INFO; SILENT
 * turns it off). Debug and info go to stdout, warnings and errors to stderr.
 *
 * It is this small on purpose: Powertools Logger added 23 KB and 4-12 ms to every
 * function's cold start for the four methods Parley uses (`npm run bench` measures it).
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
export type LogAttributes = Readonly<Record<string, unknown>>;

const SEVERITY: Readonly<Record<LogLevel, number>> = { DEBUG: 8, INFO: 12, WARN: 16, ERROR: 20, SILENT: 28 };

function levelOf(value: string | undefined): LogLevel | undefined {
  const upper = value?.trim().toUpperCase();
  if (upper === 'TRACE') return 'DEBUG';
  if (upper === 'CRITICAL' || upper === 'FATAL') return 'ERROR';
  return upper !== undefined && upper in SEVERITY ? (upper as LogLevel) : undefined;
}

function serializeError(error: Error, depth = 0): Record<string, unknown> {
  const entry: Record<string, unknown> = { name: error.name, message: error.message, stack: error.stack };
  if (error.cause !== undefined && depth < 3) {
    entry.cause = error.cause instanceof Error ? serializeError(error.cause, depth + 1) : error.cause;
  }
  return entry;
}

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return serializeError(value);
  if (value instanceof Set) return [...value];
  if (value instanceof Map) return Object.fromEntries(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

export interface LoggerOptions {
  /** `service` of every entry; `POWERTOOLS_SERVICE_NAME` wins when set. */
  readonly serviceName: string;
  /** @default from the environment, else INFO */
  readonly logLevel?: LogLevel;
}

export class Logger {
  readonly level: LogLevel;
  private readonly service: string;
  private readonly threshold: number;
  private readonly keys = new AsyncLocalStorage<LogAttributes>();

  constructor(options: LoggerOptions) {
    this.service = process.env.POWERTOOLS_SERVICE_NAME || options.serviceName;
    this.level =
      options.logLevel ??
      levelOf(process.env.POWERTOOLS_LOG_LEVEL) ??
      levelOf(process.env.LOG_LEVEL) ??
      levelOf(process.env.AWS_LAMBDA_LOG_LEVEL) ??
      'INFO';
    this.threshold = SEVERITY[this.level];
  }

  /**
   * Runs `fn` with `keys` on every entry logged inside it, however deep (Powertools'
   * `appendKeys`, scoped to one invocation, so concurrent invocations in one process, as in the
   * local stack, never mix their keys).
   */
  withKeys<T>(keys: LogAttributes, fn: () => T): T {
    return this.keys.run({ ...this.keys.getStore(), ...keys }, fn);
  }

  debug(message: string, attributes?: LogAttributes): void {
    this.write('DEBUG', message, attributes);
  }

  info(message: string, attributes?: LogAttributes): void {
    this.write('INFO', message, attributes);
  }

  warn(message: string, attributes?: LogAttributes): void {
    this.write('WARN', message, attributes);
  }

  error(message: string, attributes?: LogAttributes): void {
    this.write('ERROR', message, attributes);
  }

  private write(level: Exclude<LogLevel, 'SILENT'>, message: string, attributes?: LogAttributes): void {
    if (SEVERITY[level] < this.threshold) return;
    const entry = {
      level,
      message,
      timestamp: new Date().toISOString(),
      service: this.service,
      xray_trace_id: process.env._X_AMZN_TRACE_ID?.split(';')[0]?.replace('Root=', ''),
      ...this.keys.getStore(),
      ...attributes,
    };
    let line: string;
    try {
      line = JSON.stringify(entry, replacer);
    } catch {
      // A circular attribute: keep the entry, drop what cannot be written.
      line = JSON.stringify({ level, message, timestamp: entry.timestamp, service: this.service });
    }
    (level === 'WARN' || level === 'ERROR' ? process.stderr : process.stdout).write(`${line}\n`);
  }
}

/** The logger of this function. */
export const logger = new Logger({ serviceName: 'parley' });
