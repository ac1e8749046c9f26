import assert from "node:assert/strict";
import { notice } from "../answer.ts";
import { renderSlack } from "./render.ts";

Deno.test("renderSlack() escapes the notification text as well as the blocks, so a title can ping nobody", () => {
  const hostile = notice("error", "bad_request", "<!channel> <@U123> & friends.mp3 is not audio");
  const message = renderSlack(hostile);
  assert.equal(message.text, "&lt;!channel&gt; &lt;@U123&gt; &amp; friends.mp3 is not audio");
  assert.ok(!JSON.stringify(message).includes("<!channel>"), "no raw mention anywhere in the message");
});
