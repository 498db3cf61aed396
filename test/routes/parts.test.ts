import t from 'tap';
import { runParts } from '../helpers/part.js';

await runParts(t, import.meta.url);
