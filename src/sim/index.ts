/** The deterministic simulator: seeded randomness, a virtual clock, and a virtual network of hosts × links. */

export {
  type CutDirection,
  type Datagram,
  type DropReason,
  type LinkConditions,
  type NetworkOptions,
  type SendResult,
  VirtualNetwork,
} from './network.ts';
export { Rng } from './rng.ts';
export { Scheduler } from './scheduler.ts';
