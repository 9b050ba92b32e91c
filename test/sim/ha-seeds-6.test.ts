// HA seeds 1251–1500 (see ha-seed-batch.ts; replay: npm run soak:sim -- --ha --seed N --trace).
import { haSeedBatchTest } from './ha-seed-batch.ts';

haSeedBatchTest(1251);
