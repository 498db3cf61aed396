import { workflows } from '../../workflows/index.js';
import { LANGS, certificateStatusLabels, roleLabels, workflowLabels } from '../../workflows/labels.js';
import { CERTIFICATE_STATUSES } from '../../src/register/certificates.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const filled = (label: Record<string, string> | undefined) => Boolean(label) && LANGS.every((l) => typeof label![l] === 'string' && label![l]!.trim() !== '');

  for (const wf of workflows) {
    t.test(`${wf.kind}: every state and event of the machine has an English and a Simplified Chinese label`, async (t) => {
      const labels = workflowLabels[wf.kind];
      t.ok(labels, 'the kind has labels');
      t.ok(filled(labels?.title), 'the workflow has a title');
      const states = Object.keys(wf.machine.root.states);
      const machineEvents = new Set<string>(Object.keys(wf.events));
      for (const s of states) for (const e of wf.machine.root.states[s]!.transitions.keys()) machineEvents.add(e);
      for (const s of states) t.ok(filled(labels?.states[s]), `state ${s}`);
      for (const e of machineEvents) t.ok(filled(labels?.events[e]), `event ${e}`);
      t.same(Object.keys(labels?.states ?? {}).filter((s) => !states.includes(s)), [], 'no label for a state the machine does not have');
      t.same(Object.keys(labels?.events ?? {}).filter((e) => !machineEvents.has(e)), [], 'no label for an event the machine does not have');
      const zh = Object.values(labels?.states ?? {}).map((l) => l['zh-Hans']);
      t.ok(zh.every((x) => /[\u4e00-\u9fff]/.test(x)), 'the Chinese state labels are Chinese');
    });
  }

  t.test('certificate statuses and every role that fires an event have both labels', async (t) => {
    for (const s of CERTIFICATE_STATUSES) t.ok(filled(certificateStatusLabels[s]), s);
    const roles = new Set(workflows.flatMap((wf) => Object.values(wf.events).flatMap((e) => e.roles)));
    for (const r of roles) t.ok(filled(roleLabels[r]), r);
  });

  t.test('no kind has labels without a workflow', async (t) => {
    t.same(Object.keys(workflowLabels).sort(), workflows.map((w) => w.kind).sort());
  });
});
