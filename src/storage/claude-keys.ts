/**
 * Where the scaled copies of pictures sent to Claude (planner, judge: src/storage/downscale.ts) live.
 * They are derived and have no asset rows, so the doctor does not call them orphans. Pure, so the
 * doctor's node side can import it.
 */
export const CLAUDE_COPIES = "/claude/";

/** `accounts/<a>/shoots/<s>/claude/<name>.jpg`, beside the shoot's objects. */
export const claudeKey = (accountId: string, shootId: string, name: string) => `accounts/${accountId}/shoots/${shootId}${CLAUDE_COPIES}${name}.jpg`;
