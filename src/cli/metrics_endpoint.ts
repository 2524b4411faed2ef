/**
 * The worker command's Prometheus endpoint: registers an OpenTelemetry meter provider whose
 * reader is the Prometheus exporter, serving `/metrics` on the given port. Only the worker
 * command imports it; the library itself depends on the OpenTelemetry API alone.
 *
 * @module
 */

import { metrics } from "@opentelemetry/api";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";

/** A running `/metrics` endpoint. */
export interface MetricsEndpoint {
  /** Stops serving and shuts the meter provider down. */
  close(): Promise<void>;
}

/**
 * Serves docket's metrics in Prometheus text format at `http://0.0.0.0:<port>/metrics`.
 *
 * @example
 * ```ts ignore
 * const endpoint = await serveMetrics(9464);
 * await endpoint.close();
 * ```
 */
export async function serveMetrics(port: number): Promise<MetricsEndpoint> {
  const exporter = new PrometheusExporter({ port, preventServerStart: true });
  await exporter.startServer();
  const provider = new MeterProvider({ readers: [exporter] });
  metrics.setGlobalMeterProvider(provider);
  return {
    async close() {
      await provider.shutdown().catch(() => undefined);
      await exporter.stopServer().catch(() => undefined);
    },
  };
}
