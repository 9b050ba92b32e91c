// Randomized fault seeds 1751–2000 on the real stack (see seed-batch.ts; replay: npm run soak:sim -- --seed N --totem).
import { seedBatchTest } from './seed-batch.ts';

seedBatchTest(1751);
