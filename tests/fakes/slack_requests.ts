/**
 * Builders of the requests Slack sends a Bolt receiver (slash commands, events, modal submissions,
 * shortcuts, button presses), so tests say what a person did instead of spelling raw payloads. Send
 * them with `sendSigned(url, body, kind, …)`: `kind` is `json` for events, `form` for the others.
 * @module
 */

/** Who acts, where. */
export interface SlackActor {
  user: string;
  /** @default the user id in lower case */
  userName?: string;
  channel?: string;
  /** @default "T1" */
  team?: string;
}

/**
 * A slash command (form fields).
 *
 * @param command E.g. `/similar`.
 * @param text What follows it.
 * @param actor Who runs it, where (`channel` required).
 * @param responseUrl Where `respond()` posts.
 * @returns The form fields.
 */
export function slashCommand(
  command: string,
  text: string,
  actor: SlackActor & { channel: string },
  responseUrl: string,
): Record<string, unknown> {
  return {
    command,
    text,
    user_id: actor.user,
    user_name: actor.userName ?? actor.user.toLowerCase(),
    channel_id: actor.channel,
    team_id: actor.team ?? "T1",
    trigger_id: `trigger-${actor.user}`,
    response_url: responseUrl,
  };
}

/**
 * An Events API callback (JSON).
 *
 * @param eventId The event's id (Slack retries carry the same one).
 * @param event The event, e.g. `{ type: "app_mention", … }`.
 * @param team The workspace. @default "T1"
 * @returns The callback body.
 */
export function eventCallback(
  eventId: string,
  event: Record<string, unknown>,
  team = "T1",
): Record<string, unknown> {
  return {
    token: "x",
    team_id: team,
    api_app_id: "A1",
    type: "event_callback",
    event_id: eventId,
    event_time: Math.floor(Date.now() / 1000),
    event,
  };
}

/**
 * A modal submitted (an interaction: `payload=<json>`).
 *
 * @param view The view as opened (callback id, private metadata), plus its id.
 * @param values The inputs' state, `{ block: { action: value } }`.
 * @param actor Who submits it.
 * @returns The form fields.
 */
export function viewSubmission(
  view: Record<string, unknown>,
  values: Record<string, Record<string, unknown>>,
  actor: SlackActor,
): Record<string, unknown> {
  return {
    payload: {
      type: "view_submission",
      team: { id: actor.team ?? "T1" },
      user: { id: actor.user, name: actor.userName ?? actor.user.toLowerCase() },
      trigger_id: `trigger-${actor.user}`,
      view: { ...view, state: { values } },
    },
  };
}

/**
 * A message shortcut run on a message (an interaction).
 *
 * @param callbackId The shortcut's callback id.
 * @param message The message it runs on.
 * @param actor Who runs it, where (`channel` required).
 * @param responseUrl Where `respond()` posts.
 * @returns The form fields.
 */
export function messageShortcut(
  callbackId: string,
  message: Record<string, unknown>,
  actor: SlackActor & { channel: string },
  responseUrl: string,
): Record<string, unknown> {
  return {
    payload: {
      type: "message_action",
      callback_id: callbackId,
      trigger_id: `trigger-${actor.user}`,
      team: { id: actor.team ?? "T1" },
      user: { id: actor.user, name: actor.userName ?? actor.user.toLowerCase() },
      channel: { id: actor.channel, name: "music" },
      message: { type: "message", ...message },
      response_url: responseUrl,
    },
  };
}

/**
 * A button pressed on a message the bot posted (an interaction).
 *
 * @param action The button's `action_id` and `value`.
 * @param message The message it is on (`ts`, and `thread_ts` when in a thread).
 * @param actor Who presses it, where (`channel` required).
 * @returns The form fields.
 */
export function buttonPress(
  action: { actionId: string; value: string },
  message: { ts: string; thread_ts?: string; text?: string },
  actor: SlackActor & { channel: string },
): Record<string, unknown> {
  return {
    payload: {
      type: "block_actions",
      team: { id: actor.team ?? "T1" },
      user: { id: actor.user, name: actor.userName ?? actor.user.toLowerCase() },
      channel: { id: actor.channel },
      container: { type: "message", channel_id: actor.channel, message_ts: message.ts },
      message: { text: "", ...message },
      trigger_id: `trigger-${actor.user}`,
      actions: [{
        type: "button",
        action_id: action.actionId,
        value: action.value,
        block_id: "b1",
        action_ts: "1",
      }],
    },
  };
}
