/**
 * The daemon's side of the cfg service (./cfg-engine.ts): `killNode` checks the target and multicasts the request;
 * when a request names this node, it logs who asked and shuts the daemon down the way `corolink shutdown` does
 * (a clean leave: the others see a membership change, not a token loss).
 */
import { CFG_SERVICE_ID, CfgEngine, type CfgOutput, type KillNodeMessage } from './cfg-engine.ts';
import type { NodeEngine } from './engine.ts';

/** Why a kill request is refused before it is sent. */
export class KillRefusal extends Error {
  constructor(
    readonly code: 'not_found' | 'refused',
    message: string,
  ) {
    super(message);
  }
}

export class CfgService {
  /** The engine to register with the stack before `attach`. */
  readonly serviceEngine: CfgEngine;
  private engine: NodeEngine | undefined;

  constructor(
    localNodeId: number,
    private readonly log: (level: 'notice' | 'warning', message: string) => void,
  ) {
    this.serviceEngine = new CfgEngine(localNodeId);
  }

  /** Starts serving; `shutdown` stops this daemon (undefined: embedded, the request is logged and ignored). */
  attach(engine: NodeEngine, shutdown: () => (() => void) | undefined): void {
    this.engine = engine;
    engine.on('serviceOutput', (service, output) => {
      if (service !== CFG_SERVICE_ID) return;
      const { by, reason } = output as CfgOutput;
      const stop = shutdown();
      if (stop === undefined) {
        this.log(
          'warning',
          `node ${by} asked this node to shut down (${reason}); embedded in another program: ignored`,
        );
        return;
      }
      this.log('notice', `Killed by node ${by}: ${reason}`);
      setImmediate(stop);
    });
  }

  /** Asks node `nodeid` to shut down; refused for a node outside the nodelist or the membership. */
  killNode(nodeid: number): void {
    const engine = this.engine;
    if (engine === undefined) throw new Error('the cfg service runs on no node engine yet');
    if (!engine.checked.config.nodes.some((n) => n.nodeid === nodeid)) {
      throw new KillRefusal('not_found', `node ${nodeid} is not in the nodelist`);
    }
    if (!engine.stackSnapshot().totem.members.includes(nodeid)) {
      throw new KillRefusal('refused', `node ${nodeid} is not a member of the current membership (nothing to stop)`);
    }
    const message: KillNodeMessage = {
      type: 'killnode',
      nodeid,
      reason: `corolink kill ${nodeid} on node ${engine.localNodeId}`,
    };
    engine.serviceRequest(CFG_SERVICE_ID, message);
  }
}
