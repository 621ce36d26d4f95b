import { describe, expect, it } from 'vitest';
import { ConfigError } from '@gantry/runtime';
import { checkSigningKeys } from './config.js';

const KEY = 'a'.repeat(32);
const OLD = 'b'.repeat(32);

describe('checkSigningKeys', () => {
  it('takes no key, a key, or a key with the one it replaced', () => {
    expect(() => checkSigningKeys({ commandSigningKey: '', commandPreviousSigningKey: '' })).not.toThrow();
    expect(() => checkSigningKeys({ commandSigningKey: KEY, commandPreviousSigningKey: '' })).not.toThrow();
    expect(() => checkSigningKeys({ commandSigningKey: KEY, commandPreviousSigningKey: OLD })).not.toThrow();
  });

  it('refuses a previous key without a current one, or equal to it, naming the variable', () => {
    for (const config of [{ commandSigningKey: '', commandPreviousSigningKey: OLD }, { commandSigningKey: KEY, commandPreviousSigningKey: KEY }]) {
      let caught: unknown;
      try {
        checkSigningKeys(config);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).variables).toEqual(['COMMAND_PREVIOUS_SIGNING_KEY']);
    }
  });
});
