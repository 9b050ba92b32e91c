// HA seeds 751–1000 (see ha-seed-batch.ts; replay: npm run soak:sim -- --ha --seed N --trace).
import { haSeedBatchTest } from './ha-seed-batch.ts';

haSeedBatchTest(751);
