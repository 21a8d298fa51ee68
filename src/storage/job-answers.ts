/**
 * Where a media job's answer lives (issue 21): PUT by the instance that ran the job, read by the
 * media consumer, so a finished job is found in R2 whichever instance is asked next. Beside the
 * shoot's objects (retention removes it with them); it has no asset row by design, so the doctor
 * does not call it an orphan. Pure, so the doctor's node side can import it.
 */
export const jobAnswerKey = (accountId: string, shootId: string, jobId: string) => `accounts/${accountId}/shoots/${shootId}/jobs/${jobId}/answer.json`;

export const isJobAnswerKey = (key: string) => /^accounts\/[^/]+\/shoots\/[^/]+\/jobs\/[^/]+\/answer\.json$/.test(key);
