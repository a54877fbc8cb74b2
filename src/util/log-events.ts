// Events the library's long-lived resources report for a host's log (a disk cache whose writes fail, then resume).
// They go out on a diagnostics_channel, so nothing is printed unless a host subscribes: the HTTP server writes each
// as one JSON log line; your own process can subscribe to LOG_CHANNEL the same way.
import diagnostics_channel from 'node:diagnostics_channel';

export const LOG_CHANNEL = 'fastembed:log';

export interface LogEvent {
  level: 'info' | 'warn';
  /** What reports it, as the log's `component` field ('disk_cache'). */
  component: string;
  message: string;
}

const channel = diagnostics_channel.channel(LOG_CHANNEL);

export function publishLog(event: LogEvent): void {
  if (channel.hasSubscribers) channel.publish(event);
}

/** Calls `listener` with every event from now on; returns the function that stops it. */
export function onLogEvent(listener: (event: LogEvent) => void): () => void {
  const forward = (message: unknown) => listener(message as LogEvent);
  diagnostics_channel.subscribe(LOG_CHANNEL, forward);
  return () => void diagnostics_channel.unsubscribe(LOG_CHANNEL, forward);
}
