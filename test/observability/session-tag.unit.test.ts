import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sessionTag } from '../../src/observability/session-tag.ts';

describe('sessionTag', () => {
  it('is the first 12 hex digits of sha256 of the sid, so tags in older logs still match', () => {
    const sid = 'Zm9vYmFyLXNlc3Npb24taWQtZm9yLXRoZS10ZXN0';
    expect(sessionTag(sid)).toBe(createHash('sha256').update(sid, 'utf8').digest('hex').slice(0, 12));
    expect(sessionTag(sid)).toMatch(/^[0-9a-f]{12}$/);
  });
});
