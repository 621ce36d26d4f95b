/**
 * Vitest global setup of the integration project: sweeps what crashed runs left behind, migrates
 * one template database for the run and drops it afterwards. Test files clone it with
 * `useTestDatabase()`.
 */
import type { TestProject } from 'vitest/node';
import { createTemplate, dropTemplate } from './database.js';
import { sweepStaleTestResources } from './janitor.js';
import './provided.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await sweepStaleTestResources();
  const template = await createTemplate();
  project.provide('gantryTemplateDatabase', template);
  return () => dropTemplate(template);
}
