// HA seeds 1001–1250 (see ha-seed-batch.ts; replay: npm run soak:sim -- --ha --seed N --trace).
import { haSeedBatchTest } from './ha-seed-batch.ts';

haSeedBatchTest(1001);
