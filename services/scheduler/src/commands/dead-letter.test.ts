import { describe, expect, it } from 'vitest';
import { COMMAND_KINDS, names as namesOf } from '@gantry/contracts';
import { commandKindOf, commandLabelOf } from './dead-letter.js';

describe('the command label of a subject', () => {
  const names = namesOf('ns');

  it('is the command kind for every kind there is', () => {
    for (const kind of COMMAND_KINDS) expect(commandLabelOf(names, `ns.cmd.${kind}`)).toBe(kind);
  });

  it('is `unknown` for any other subject, so that senders cannot make series without bound', () => {
    const labels = new Set(Array.from({ length: 500 }, (_, i) => commandLabelOf(names, `ns.cmd.submit.${i}`)));
    expect([...labels]).toEqual(['unknown']);
    expect(commandLabelOf(names, 'ns.cmd.bogus')).toBe('unknown');
    expect(commandLabelOf(names, 'other.cmd.submit')).toBe('unknown');
    // The dead letter's subject keeps what the sender wrote.
    expect(commandKindOf(names, 'ns.cmd.submit.7')).toBe('submit.7');
  });
});
