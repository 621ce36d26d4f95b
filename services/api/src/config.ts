/** The api's own environment variables, on top of the shared ones. */
import { envInt, envString } from '@gantry/runtime';

export const API_ENV = {
  PORT: envInt({ default: 8080, min: 0, max: 65_535, description: 'Port of the HTTP API, which also serves /metrics, /healthz, /readyz.' }),
  HTTP_HOST: envString({ default: '0.0.0.0', description: 'Address the HTTP server listens on.' }),
};
