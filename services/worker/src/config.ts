/** The worker's own environment variables, on top of the shared ones. */
import { envInt, envString } from '@gantry/runtime';

export const WORKER_ENV = {
  METRICS_PORT: envInt({ default: 9465, min: 0, max: 65_535, description: 'Port of /metrics, /healthz, /readyz; 0 takes any free port (several workers on one host).' }),
  HTTP_HOST: envString({ default: '0.0.0.0', description: 'Address the HTTP server listens on.' }),
};
