export { Keyring, decodeKeyMaterial, generateKey, type KeyringOptions, type KeySpec } from './keyring.ts';
