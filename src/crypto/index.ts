export { Keyring, decodeKeyMaterial, generateKey, sealedKid, type KeySpec } from './keyring.ts';
