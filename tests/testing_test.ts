/** The assertion helpers of `testing.ts`. */

import assert from "node:assert/strict";
import { task } from "../mod.ts";
import {
  assertNoTasks,
  assertTaskCount,
  assertTaskNotScheduled,
  assertTaskScheduled,
} from "../testing.ts";
import { BACKENDS, connectDocket } from "./_harness.ts";

const sendEmail = task({
  name: "send_email",
  run: (_: { userId: string; template: string }) => {},
});

for (const kind of BACKENDS) {
  Deno.test(`testing helpers match on task, key and payload subset [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    docket.register(sendEmail);
    await assertNoTasks(docket);
    await assert.rejects(assertTaskScheduled(docket, sendEmail), /no tasks scheduled/);
    await docket.add(sendEmail, { key: "welcome-u1", when: Date.now() + 60_000 })({
      userId: "u1",
      template: "welcome",
    });
    await docket.add(sendEmail)({ userId: "u2", template: "reset" });
    await assertTaskScheduled(docket, sendEmail, { key: "welcome-u1" });
    await assertTaskScheduled(docket, "send_email", { payload: { userId: "u2" } });
    await assert.rejects(
      assertTaskScheduled(docket, sendEmail, { payload: { userId: "u3" } }),
      /not found with task=send_email, payload ⊇ \{"userId":"u3"\}; scheduled:\n[\s\S]*u1/,
    );
    await assertTaskNotScheduled(docket, sendEmail, { payload: { userId: "u3" } });
    await assert.rejects(
      assertTaskNotScheduled(docket, sendEmail, { key: "welcome-u1" }),
      /found but should not be scheduled/,
    );
    await assertTaskCount(docket, sendEmail, 2);
    await assertTaskCount(docket, 2);
    await assert.rejects(
      assertTaskCount(docket, "trace", 1),
      /Expected 1 tasks for trace, found 0/,
    );
    await assert.rejects(assertNoTasks(docket), /Expected no tasks, found 2 scheduled/);
  });
}
