/**
 * Where an ended shoot's compacted history lives (src/history.ts): beside its media, so retention
 * deletes it with the shoot. It has no asset row by design, so the doctor does not call it an
 * orphan. Pure, so the doctor's node side can import it.
 */
export const HISTORY_FILE = "/history.json";

/** `accounts/<a>/shoots/<s>/history.json`. */
export const historyKey = (accountId: string, shootId: string) => `accounts/${accountId}/shoots/${shootId}${HISTORY_FILE}`;
