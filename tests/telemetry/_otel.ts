/**
 * The real OpenTelemetry SDK, registered globally for a test file: an in-memory span exporter,
 * an in-memory metric reader, and the async-hooks context manager (so a task body's spans nest
 * under its run's span).
 */

import { context, metrics, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import {
  AggregationTemporality,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";

/** A reader a test collects from when it wants to (cumulative values). */
class TestMetricReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export const spanExporter = new InMemorySpanExporter();
export const metricReader = new TestMetricReader();

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(
  new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] }),
);
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [metricReader] }));

/** Finished spans whose attribute `name` is `value`. */
export function spansWith(name: string, value: unknown): ReadableSpan[] {
  return spanExporter.getFinishedSpans().filter((span) => span.attributes[name] === value);
}

/** The sum of a counter's (or count of a histogram's) points whose attributes include `match`. */
export async function metricTotal(
  metricName: string,
  match: Record<string, string>,
): Promise<number> {
  const { resourceMetrics } = await metricReader.collect();
  return totalOf(resourceMetrics, metricName, match);
}

function totalOf(
  resourceMetrics: ResourceMetrics,
  metricName: string,
  match: Record<string, string>,
): number {
  let total = 0;
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== metricName) continue;
      for (const point of metric.dataPoints) {
        const fits = Object.entries(match).every(([k, v]) => point.attributes[k] === v);
        if (!fits) continue;
        const value = point.value as number | { count: number };
        total += typeof value === "number" ? value : value.count;
      }
    }
  }
  return total;
}
