export { type DpopKey, generateDpopKey, importDpopKey } from './key.ts';
export { asksForNonce, DpopNonces } from './nonces.ts';
export { accessTokenHash, proofUrl, signProof, type ProofRequest } from './proof.ts';
export { DPOP_SEAL_FIELD, DpopKeys, sealDpopKey } from './sealed-key.ts';
