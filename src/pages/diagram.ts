// A workflow drawn as an SVG state diagram on the server, so it shows without JavaScript and
// without a diagram library in the browser. A small layered ("Sugiyama") layout: states in rows
// by longest path from the initial state, edges that go back up drawn dashed, long edges routed
// through invisible points, rows ordered by the barycentre of their neighbours.
import { Html, html } from './html.js';

export type DiagramInput = {
  id: string;
  initial: string;
  states: string[];
  finals: string[];
  transitions: Array<{ from: string; to: string; event: string }>;
  label: (state: string) => string;
  /** What an edge says when hovered: its events. */
  edgeTitle: (events: string[]) => string;
  ariaLabel: string;
};

type Node = { id: string; layer: number; order: number; x: number; w: number; h: number; dummy: boolean };
type Edge = { from: string; to: string; events: string[]; back: boolean };

const ROW = 86;
const NODE_H = 40;
const GAP = 22;
const MARGIN = 16;
const TOP = 34;

/** Rough text width in px at 13px: CJK characters are square, Latin ones about half as wide. */
const textWidth = (s: string, px = 13) => [...s].reduce((w, ch) => w + (ch.codePointAt(0)! >= 0x2e80 ? px : px * 0.56), 0);

export function stateDiagram(d: DiagramInput): Html {
  // Distinct edges between distinct states; events between the same pair share one arrow.
  const edges: Edge[] = [];
  for (const t of d.transitions) {
    if (t.from === t.to) continue;
    const e = edges.find((x) => x.from === t.from && x.to === t.to);
    if (e) e.events.push(t.event);
    else edges.push({ from: t.from, to: t.to, events: [t.event], back: false });
  }

  // Back edges: those closing a cycle in a depth-first walk from the initial state.
  const onStack = new Set<string>();
  const seen = new Set<string>();
  const visit = (v: string) => {
    seen.add(v);
    onStack.add(v);
    for (const e of edges.filter((x) => x.from === v)) {
      if (onStack.has(e.to)) e.back = true;
      else if (!seen.has(e.to)) visit(e.to);
    }
    onStack.delete(v);
  };
  visit(d.initial);
  for (const s of d.states) if (!seen.has(s)) visit(s);
  const dag = edges.map((e) => (e.back ? { from: e.to, to: e.from } : { from: e.from, to: e.to }));

  // Longest-path layers over the acyclic edges.
  const layer = new Map<string, number>(d.states.map((s) => [s, 0]));
  for (let changed = true, guard = 0; changed && guard < d.states.length + 1; guard++) {
    changed = false;
    for (const e of dag) {
      if (layer.get(e.to)! < layer.get(e.from)! + 1) {
        layer.set(e.to, layer.get(e.from)! + 1);
        changed = true;
      }
    }
  }

  const nodes = new Map<string, Node>();
  for (const s of d.states) {
    const w = Math.max(textWidth(d.label(s)), textWidth(s, 10.5) * 1.05) + 22;
    nodes.set(s, { id: s, layer: layer.get(s)!, order: d.states.indexOf(s), x: 0, w, h: NODE_H, dummy: false });
  }
  // Edges spanning several layers pass through one invisible point per layer crossed.
  const chains = edges.map((e, i) => {
    const [a, b] = e.back ? [e.to, e.from] : [e.from, e.to];
    const chain = [a];
    for (let l = layer.get(a)! + 1; l < layer.get(b)!; l++) {
      const id = `~${i}.${l}`;
      nodes.set(id, { id, layer: l, order: nodes.get(a)!.order, x: 0, w: 10, h: 0, dummy: true });
      chain.push(id);
    }
    chain.push(b);
    return { edge: e, chain };
  });
  const links: Array<[string, string]> = chains.flatMap(({ chain }) => chain.slice(1).map((v, i) => [chain[i]!, v] as [string, string]));
  const depth = Math.max(...[...nodes.values()].map((n) => n.layer));
  const rows: Node[][] = Array.from({ length: depth + 1 }, (_, l) => [...nodes.values()].filter((n) => n.layer === l).sort((a, b) => a.order - b.order));
  const up = (v: string) => links.filter(([, b]) => b === v).map(([a]) => nodes.get(a)!);
  const down = (v: string) => links.filter(([a]) => a === v).map(([, b]) => nodes.get(b)!);

  // Order each row by the mean position of its neighbours in the row above, then below.
  const renumber = (row: Node[]) => row.forEach((n, i) => (n.order = i));
  rows.forEach(renumber);
  const mean = (ns: Node[], fallback: number) => (ns.length ? ns.reduce((s, n) => s + n.order, 0) / ns.length : fallback);
  for (let pass = 0; pass < 8; pass++) {
    const sweep = pass % 2 === 0 ? rows.slice(1) : rows.slice(0, -1).reverse();
    for (const row of sweep) {
      row.sort((a, b) => mean(pass % 2 === 0 ? up(a.id) : down(a.id), a.order) - mean(pass % 2 === 0 ? up(b.id) : down(b.id), b.order));
      renumber(row);
    }
  }

  // x: pack each row, then pull nodes towards their neighbours' mean without breaking the order.
  const pack = (row: Node[], want: (n: Node) => number) => {
    let right = -Infinity;
    for (const n of row) {
      n.x = Math.max(want(n), right + GAP + n.w / 2);
      right = n.x + n.w / 2;
    }
    const shift = row.reduce((s, n) => s + (want(n) - n.x), 0) / row.length;
    for (const n of row) n.x += shift;
  };
  for (const row of rows) pack(row, () => 0);
  const meanX = (ns: Node[], n: Node) => (ns.length ? ns.reduce((s, m) => s + m.x, 0) / ns.length : n.x);
  for (let pass = 0; pass < 6; pass++) {
    for (const row of pass % 2 === 0 ? rows.slice(1) : rows.slice(0, -1).reverse()) pack(row, (n) => meanX(pass % 2 === 0 ? up(n.id) : down(n.id), n));
  }
  const minX = Math.min(...[...nodes.values()].map((n) => n.x - n.w / 2));
  const maxX = Math.max(...[...nodes.values()].map((n) => n.x + n.w / 2));
  for (const n of nodes.values()) n.x += MARGIN - minX;
  const width = Math.ceil(maxX - minX + 2 * MARGIN);
  const height = TOP + depth * ROW + NODE_H + MARGIN;
  const yOf = (n: Node) => TOP + n.layer * ROW + NODE_H / 2;

  // Where edges leave a node's bottom and enter a node's top, spread so arrows do not overlap.
  const port = (n: Node, others: Node[], other: Node) => {
    if (n.dummy) return n.x;
    const sorted = [...others].sort((a, b) => a.x - b.x);
    const i = sorted.indexOf(other);
    const span = n.w * 0.6;
    return n.x - span / 2 + (span * (i + 1)) / (sorted.length + 1);
  };
  const paths = chains.map(({ edge, chain }) => {
    const pts: Array<[number, number]> = [];
    chain.forEach((id, i) => {
      const n = nodes.get(id)!;
      if (i === 0) pts.push([port(n, down(id), nodes.get(chain[1]!)!), yOf(n) + n.h / 2]);
      else if (i === chain.length - 1) pts.push([port(n, up(id), nodes.get(chain[i - 1]!)!), yOf(n) - n.h / 2]);
      else pts.push([n.x, yOf(n)]);
    });
    if (edge.back) pts.reverse();
    let dpath = `M${r(pts[0]![0])},${r(pts[0]![1])}`;
    for (let i = 1; i < pts.length; i++) {
      const [x0, y0] = pts[i - 1]!;
      const [x1, y1] = pts[i]!;
      const my = (y0 + y1) / 2;
      dpath += ` C${r(x0)},${r(my)} ${r(x1)},${r(my)} ${r(x1)},${r(y1)}`;
    }
    return html`<path d="${dpath}" class="${edge.back ? 'back' : ''}" marker-end="url(#arrow-${d.id})"><title>${d.edgeTitle(edge.events)}</title></path>`;
  });

  const init = nodes.get(d.initial)!;
  const boxes = d.states.map((s) => {
    const n = nodes.get(s)!;
    const x = n.x - n.w / 2;
    const y = yOf(n) - n.h / 2;
    const final = d.finals.includes(s);
    return html`<g class="state${final ? ' final' : ''}${s === d.initial ? ' initial' : ''}">
<rect x="${r(x)}" y="${r(y)}" width="${r(n.w)}" height="${n.h}" rx="8"/>${final ? html`<rect class="inner" x="${r(x + 3)}" y="${r(y + 3)}" width="${r(n.w - 6)}" height="${n.h - 6}" rx="6"/>` : ''}
<text x="${r(n.x)}" y="${r(y + 17)}" class="label">${d.label(s)}</text>
<text x="${r(n.x)}" y="${r(y + 31)}" class="code">${s}</text>
</g>`;
  });

  return html`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${d.ariaLabel}" class="state-diagram">
<defs><marker id="arrow-${d.id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#4b5563"/></marker></defs>
<circle cx="${r(init.x)}" cy="8" r="6"/>
<path d="M${r(init.x)},14 L${r(init.x)},${r(yOf(init) - NODE_H / 2)}" marker-end="url(#arrow-${d.id})"/>
${paths}
${boxes}
</svg>`;
}

const r = (n: number) => Math.round(n * 10) / 10;
