export { Keyring, decodeKeyMaterial, generateKey, sealedKid, type KeyringOptions, type KeySpec } from './keyring.ts';
