/**
 * Prometheus metrics of one server (prom-client, its own Registry so that several
 * servers in one process — tests — do not share counters). Served at GET /metrics.
 *
 *   ppnn_sessions_active                 gauge    sessions running now (the HPA target)
 *   ppnn_sessions_total                  counter  sessions admitted
 *   ppnn_sessions_failed_total{code}     counter  sessions ended by a coded error
 *   ppnn_connections_refused_total{code} counter  connections turned away (AUTH_FAILED, BUSY, …)
 *   ppnn_bytes_received_total            counter  frame bytes from clients
 *   ppnn_bytes_sent_total                counter  frame bytes to clients
 *   ppnn_stage_duration_seconds{stage}   histogram handshake, preprocessing, online, session
 *   ppnn_session_processes_rss_bytes     gauge    resident memory of the session processes (spares
 *                                                 included); ppnn_process_resident_memory_bytes is
 *                                                 the server process's own
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ServerMetrics {
  registry: Registry;
  active: Gauge;
  total: Counter;
  failed: Counter<'code'>;
  refused: Counter<'code'>;
  bytesIn: Counter;
  bytesOut: Counter;
  stage: Histogram<'stage'>;
  queued: Gauge;
  sessionRss: Gauge;
}

/**
 * A fresh registry with the server's metrics (plus process metrics: RSS, CPU, event loop).
 * `sessionRssBytes` reads the session processes' memory when /metrics is scraped.
 */
export function createMetrics(sessionRssBytes: () => number = () => 0): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ppnn_process_' });
  const registers = [registry];
  return {
    registry,
    active: new Gauge({ name: 'ppnn_sessions_active', help: 'sessions running now', registers }),
    queued: new Gauge({ name: 'ppnn_sessions_queued', help: 'sessions waiting for a free slot', registers }),
    sessionRss: new Gauge({
      name: 'ppnn_session_processes_rss_bytes',
      help: 'resident memory of the session processes, spares included',
      registers,
      collect() {
        this.set(sessionRssBytes());
      },
    }),
    total: new Counter({ name: 'ppnn_sessions_total', help: 'sessions admitted', registers }),
    failed: new Counter({
      name: 'ppnn_sessions_failed_total',
      help: 'sessions ended by a coded error',
      labelNames: ['code'],
      registers,
    }),
    refused: new Counter({
      name: 'ppnn_connections_refused_total',
      help: 'connections refused before a session started',
      labelNames: ['code'],
      registers,
    }),
    bytesIn: new Counter({ name: 'ppnn_bytes_received_total', help: 'frame bytes received from clients', registers }),
    bytesOut: new Counter({ name: 'ppnn_bytes_sent_total', help: 'frame bytes sent to clients', registers }),
    stage: new Histogram({
      name: 'ppnn_stage_duration_seconds',
      help: 'duration of session stages',
      labelNames: ['stage'],
      registers,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    }),
  };
}
