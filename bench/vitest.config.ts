import { gantryVitestConfig } from '../vitest.shared.js';

export default gantryVitestConfig();
