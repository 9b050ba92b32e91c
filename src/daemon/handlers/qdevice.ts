/** Admin-socket method `qdeviceStatus`: what `corosync-qdevice-tool -s` shows, as QdeviceStatusV1. */
import type { Handlers } from '../admin-socket.ts';
import type { QdeviceService } from '../qdevice-service.ts';

export function qdeviceHandlers(qdevice: QdeviceService): Pick<Handlers, 'qdeviceStatus'> {
  return { qdeviceStatus: () => qdevice.statusV1(performance.now()) };
}
