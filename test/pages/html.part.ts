import fc from 'fast-check';
import { escapeHtml, html, trusted } from '../../src/pages/html.js';
import { chooseLang, formatDate, formatDateTime } from '../../src/pages/i18n.js';
import { stateDiagram } from '../../src/pages/diagram.js';
import { describeWorkflow } from '../../src/engine/workflow-docs.js';
import { workflows } from '../../workflows/index.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

  t.test('interpolated text is escaped, markup built by html`` passes through', async (t) => {
    t.equal(html`<p>${'<script>alert(1)</script>'}</p>`.value, '<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>');
    t.equal(html`<a title="${`" onmouseover="x`}">`.value, '<a title="&quot; onmouseover=&quot;x">');
    t.equal(html`<i>${"it's & that"}</i>`.value, '<i>it&#39;s &amp; that</i>');
    t.equal(html`<ul>${['a<', 'b'].map((x) => html`<li>${x}</li>`)}</ul>`.value, '<ul><li>a&lt;</li><li>b</li></ul>');
    t.equal(html`${null}${undefined}${false}${true}${0}`.value, '0', 'absent values vanish, numbers show');
    t.equal(html`<div>${trusted('<br>')}</div>`.value, '<div><br></div>');
    t.equal(html`${html`<b>${'<'}</b>`}`.value, '<b>&lt;</b>', 'nested templates are not escaped twice');
  });

  t.test('any text comes out as the same text, with no markup in it', async () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const out = html`<p>${s}</p>`.value;
        const inner = out.slice(3, -4);
        return !/[<>"']/.test(inner) && unescape(inner) === s && escapeHtml(s) === inner;
      }),
      { numRuns: 500 },
    );
  });

  t.test('the language comes from ?lang=, else Accept-Language by quality, else Chinese', async (t) => {
    t.same(chooseLang('en', 'zh-CN'), { lang: 'en', explicit: true });
    t.same(chooseLang('zh-Hans', 'en'), { lang: 'zh-Hans', explicit: true });
    t.same(chooseLang('klingon', 'en-US,en;q=0.9'), { lang: 'en', explicit: false });
    t.same(chooseLang(undefined, 'zh-TW'), { lang: 'zh-Hans', explicit: false });
    t.same(chooseLang(undefined, 'de-DE, fr;q=0.9, en;q=0.1'), { lang: 'en', explicit: false });
    t.same(chooseLang(undefined, 'en;q=0.5, zh;q=0.8'), { lang: 'zh-Hans', explicit: false });
    t.same(chooseLang(undefined, 'en;q=0, zh;q=0.1'), { lang: 'zh-Hans', explicit: false }, 'q=0 means not this one');
    t.same(chooseLang(undefined, '*'), { lang: 'zh-Hans', explicit: false });
    t.same(chooseLang(undefined, undefined), { lang: 'zh-Hans', explicit: false });
    t.same(chooseLang(undefined, ';;;,,q=x'), { lang: 'zh-Hans', explicit: false }, 'a garbled header is no error');
  });

  t.test('dates are shown in China Standard Time', async (t) => {
    t.equal(formatDate('2026-03-01T17:30:00.000Z'), '2026-03-02');
    t.equal(formatDateTime('2026-03-01T17:30:00.000Z'), '2026-03-02 01:30');
    t.equal(formatDateTime('2026-03-01T00:05:00.000Z'), '2026-03-01 08:05');
  });

  t.test('the diagram has a box for every state and an arrow for every pair of states an event joins', async (t) => {
    for (const wf of workflows) {
      const d = describeWorkflow(wf);
      const svg = stateDiagram({
        id: wf.kind,
        initial: d.initial,
        states: d.states,
        finals: d.final_states,
        transitions: d.transitions,
        label: (s) => `<${s}>`,
        edgeTitle: (events) => events.join(', '),
        ariaLabel: 'diagram',
      }).value;
      const pairs = new Set(d.transitions.filter((x) => x.from !== x.to).map((x) => `${x.from}>${x.to}`));
      t.equal((svg.match(/<g class="state/g) ?? []).length, d.states.length, `${wf.kind}: one box per state`);
      t.equal((svg.match(/<path d="M[^"]+" class="(back)?" marker-end/g) ?? []).length, pairs.size, `${wf.kind}: one arrow per pair`);
      t.equal((svg.match(/class="state final/g) ?? []).length, d.final_states.length, `${wf.kind}: final states drawn as such`);
      for (const s of d.states) t.ok(svg.includes(`>&lt;${s}&gt;</text>`), `${wf.kind}: ${s} is labelled, escaped`);
      t.notMatch(svg, /NaN|Infinity|undefined/, `${wf.kind}: every coordinate is a number`);
      const boxes = [...svg.matchAll(/<rect x="([\d.-]+)" y="([\d.-]+)" width="([\d.]+)" height="(\d+)" rx="8"\/>/g)].map((m) => m.slice(1).map(Number));
      const overlap = boxes.some((a, i) => boxes.some((b, j) => i < j && a[0]! < b[0]! + b[2]! && b[0]! < a[0]! + a[2]! && a[1]! < b[1]! + b[3]! && b[1]! < a[1]! + a[3]!));
      t.notOk(overlap, `${wf.kind}: no two boxes overlap`);
      t.ok(boxes.every(([x, y]) => x! >= 0 && y! >= 0), `${wf.kind}: every box is inside the picture`);
    }
  });
});
