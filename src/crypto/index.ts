export { Keyring, decodeKeyMaterial, generateKey, type KeySpec } from './keyring.ts';
