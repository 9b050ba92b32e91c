/**
 * Unix datagram sockets, which Node's own dgram module does not have, through the unix-dgram addon (an optional
 * dependency: its install compiles it; without it the daemon still runs and says what it cannot do). systemd's
 * NOTIFY_SOCKET, the journal's native socket and syslog's /dev/log are all unix datagram sockets.
 */
import type { UnixDgramSocket } from 'unix-dgram';
import { optionalModule } from '../base/lazy-module.ts';

type UnixDgram = typeof import('unix-dgram');

/** The addon, or the error that says why it cannot be loaded (not installed, not compiled). */
export const loadUnixDgram: () => UnixDgram | Error = optionalModule(
  () => 'unix-dgram',
  (cause) => `unix datagram sockets are unavailable (the optional unix-dgram addon: ${cause})`,
);

/** One unbound socket that sends datagrams to paths; errors of a send go to `onError`, never thrown. */
export class DatagramSender {
  private constructor(private readonly socket: UnixDgramSocket) {}

  /** A sender, or the error saying why unix datagrams are unavailable. */
  static open(): DatagramSender | Error {
    const dgram = loadUnixDgram();
    if (dgram instanceof Error) return dgram;
    const socket = dgram.createSocket('unix_dgram');
    return new DatagramSender(socket);
  }

  /** Sends one datagram (the kernel takes it or refuses it at once: no queue on our side). */
  send(path: string, data: Buffer, onError: (error: Error) => void): void {
    this.socket.send(data, 0, data.length, path, (error) => {
      if (error) onError(error);
    });
  }

  close(): void {
    this.socket.close();
  }
}
