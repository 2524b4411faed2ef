/**
 * What a stretch of code allocates, by function: V8's sampling heap profiler through
 * `node:inspector`, counting objects the garbage collector has already freed too (a drain's
 * allocations are almost all short-lived). Deno only (Bun's inspector has no HeapProfiler).
 */
import { Session } from "node:inspector";

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

/** Bytes allocated by each function itself (not its callees), the largest first. */
export interface Allocations {
  total: number;
  byFunction: [name: string, bytes: number][];
}

function post<T>(session: Session, method: string, params: object = {}): Promise<T> {
  return new Promise((resolve, reject) =>
    session.post(method, params, (error, result) => error ? reject(error) : resolve(result as T))
  );
}

function frameName({ functionName, url, lineNumber }: ProfileNode["callFrame"]): string {
  const where = url.replace(/^.*\/(src|bench|node_modules)\//, "$1/");
  return `${functionName || "(anonymous)"} ${where}:${lineNumber + 1}`;
}

/**
 * Starts sampling (one sample per `intervalBytes` allocated); the function returned stops it and
 * sums the samples by function.
 */
export async function sampleAllocations(intervalBytes = 512): Promise<() => Promise<Allocations>> {
  const session = new Session();
  session.connect();
  await post(session, "HeapProfiler.enable");
  await post(session, "HeapProfiler.startSampling", {
    samplingInterval: intervalBytes,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  return async () => {
    const { profile } = await post<{ profile: { head: ProfileNode } }>(
      session,
      "HeapProfiler.stopSampling",
    );
    session.disconnect();
    const bytes = new Map<string, number>();
    let total = 0;
    const pending = [profile.head];
    for (let node = pending.pop(); node; node = pending.pop()) {
      const name = frameName(node.callFrame);
      bytes.set(name, (bytes.get(name) ?? 0) + node.selfSize);
      total += node.selfSize;
      pending.push(...node.children);
    }
    return { total, byFunction: [...bytes].sort((a, b) => b[1] - a[1]) };
  };
}
