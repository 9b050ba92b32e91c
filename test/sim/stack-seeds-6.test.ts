// Whole-stack randomized fault seeds 1251–1500 (see stack-seed-batch.ts; replay: npm run soak:sim -- --seed N --trace).
import { stackSeedBatchTest } from './stack-seed-batch.ts';

stackSeedBatchTest(1251);
