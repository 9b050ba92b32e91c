// Randomized fault seeds 751–1000 on the real stack (see seed-batch.ts; replay: npm run soak:sim -- --seed N --totem).
import { seedBatchTest } from './seed-batch.ts';

seedBatchTest(751);
