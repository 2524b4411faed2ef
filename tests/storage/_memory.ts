/**
 * Helpers shared by the memory backend tests (not a test file itself).
 */

import { MemoryBackend } from "../../src/storage/memory/backend.ts";
import type { Consumer, ScheduleRequest } from "../../src/storage/backend.ts";
import { DocketKeys } from "../../src/keys.ts";
import { encodeValue } from "../../src/codec.ts";

export const keys = new DocketKeys("tests");
export const silent = () => {};

let urlCount = 0;
/** A memory:// URL no other test uses. */
export function freshUrl(): string {
  return `memory://test-${++urlCount}`;
}

/** A backend on a URL no other test uses, so tests never see each other's data. */
export function fresh(name = "tests"): MemoryBackend {
  return MemoryBackend.forUrl(freshUrl(), name);
}

export function request(key: string, overrides: Partial<ScheduleRequest> = {}): ScheduleRequest {
  return {
    mode: "add",
    key,
    task: "greet",
    data: encodeValue({ args: [key] }),
    when: 1_000,
    attempt: 1,
    tracked: true,
    ...overrides,
  };
}

/** Lets queued microtasks (pub/sub deliveries) run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Subscribes and collects parsed JSON messages (or raw strings for the cancel channel). */
export async function collect(backend: MemoryBackend, channel: string, raw = false) {
  const messages: any[] = [];
  const stop = await backend.subscribe(
    channel,
    (message) => messages.push(raw ? message : JSON.parse(message)),
  );
  return { messages, stop };
}

export async function claimAll(consumer: Consumer, now = 2_000, reclaimIdleMs?: number) {
  return await consumer.claim({ count: 10, blockMs: 0, now, reclaimIdleMs });
}
