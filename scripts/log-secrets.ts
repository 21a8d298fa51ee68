/** Finds log lines that carry a secret: the stack's API key and signing secret, provider keys, URL signatures. */
import type { Stack } from "./stack.ts";

export function findSecrets(lines: string[], stack: Stack): string[] {
  const secrets = [stack.identity.apiKey, stack.identity.signingSecret, "sim-fal-key", "sim-secret", "sim-anthropic-key"];
  const leaks: string[] = [];
  for (const line of lines) {
    for (const s of secrets) if (line.includes(s)) leaks.push(`${s.slice(0, 6)}… in: ${line.slice(0, 200)}`);
    if (/[?&]sig=[A-Za-z0-9_-]{16,}/.test(line)) leaks.push(`a URL signature in: ${line.slice(0, 200)}`);
    if (/authorization:\s*(bearer|key)\s+\S{8,}/i.test(line)) leaks.push(`an Authorization header in: ${line.slice(0, 200)}`);
  }
  return leaks;
}
