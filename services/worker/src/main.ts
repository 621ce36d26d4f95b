/** The worker process with the built-in step types (see `service.ts`). */
import { runWorkerService } from './service.js';

await runWorkerService();
