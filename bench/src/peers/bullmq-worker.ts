/**
 * One BullMQ worker process for `npm run bench -- bullmq`: a no-op processor on queue `argv[3]`
 * of the Redis at `argv[2]`, `argv[4]` jobs at a time. Tells its parent `ready` once connected,
 * and closes when the parent says `stop`.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const [redisUrl, queue, concurrency] = process.argv.slice(2);
const connection = new Redis(redisUrl!, { maxRetriesPerRequest: null });
const worker = new Worker(queue!, async () => null, { connection, concurrency: Number(concurrency), removeOnComplete: { count: 0 } });
await worker.waitUntilReady();
process.send?.('ready');
process.on('message', (message) => {
  if (message !== 'stop') return;
  void worker
    .close()
    .then(() => connection.quit())
    .finally(() => process.exit(0));
});
