import { MemoryStore } from '../../src/store/memory.ts';
import { tokenServiceContract } from './token-service-contract.ts';

tokenServiceContract('the memory store', () => new MemoryStore());
