/** The small part of unix-dgram's API the daemon uses (the package ships no type declarations). */
declare module 'unix-dgram' {
  import type { EventEmitter } from 'node:events';

  export interface UnixDgramSocket extends EventEmitter {
    bind(path: string): void;
    send(buf: Buffer, offset: number, length: number, path: string, callback?: (error?: Error) => void): void;
    close(): void;
  }
  export function createSocket(
    type: 'unix_dgram',
    listener?: (message: Buffer, info: { path?: string }) => void,
  ): UnixDgramSocket;
}
