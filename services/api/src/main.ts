/** The API process: serves the HTTP API (with /healthz, /readyz, /metrics) on PORT until SIGTERM. */
import { runService, serviceBase, shutdownOptions } from '@gantry/runtime';
import pkg from '../package.json' with { type: 'json' };
import { API_ENV } from './config.js';
import { createApiServer } from './server.js';

const { config, logger, metrics, nc, natsComponent } = await serviceBase('api', pkg.version, API_ENV);
const api = createApiServer({ config, nc, logger, metrics, version: pkg.version });
await runService({ logger, components: [natsComponent, api], ...shutdownOptions(config) });
