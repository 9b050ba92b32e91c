/** Admin-socket method of joining nodes (docs/reconfiguration.md): `joinTokenCreate {ttl_ms?}` → a one-time token. */
import { AdminError, type Handlers } from '../admin-socket.ts';
import { type JoinService, JoinServiceError } from '../join-service.ts';

/** A join token's life when the caller does not say: one hour. */
const JOIN_TOKEN_TTL_DEFAULT_MS = 3600 * 1000;

export function joinHandlers(join: JoinService): Pick<Handlers, 'joinTokenCreate'> {
  return {
    joinTokenCreate: async ({ ttl_ms: ttl = JOIN_TOKEN_TTL_DEFAULT_MS }) => {
      try {
        return await join.createToken(ttl);
      } catch (error) {
        if (error instanceof JoinServiceError) throw new AdminError(error.code, error.message);
        throw error;
      }
    },
  };
}
