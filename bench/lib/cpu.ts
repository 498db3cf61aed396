// CPU seconds used by the processes of one side of a benchmark (the service, PostgreSQL's backends
// of the benchmark database, the load generator), sampled from /proc: on a shared 2-core machine,
// CPU per event is the figure that other people's load disturbs least.
import fs from 'node:fs';
import pg from 'pg';

const TICKS = 100; // getconf CLK_TCK on Linux

function cpuOf(pid: number): { cpu: number; pgrp: number; ppid: number; comm: string } | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = s.lastIndexOf(')');
    const comm = s.slice(s.indexOf('(') + 1, close);
    const f = s.slice(close + 2).split(' ');
    // fields after ")": state(0) ppid(1) pgrp(2) … utime(11) stime(12)
    return { cpu: (Number(f[11]) + Number(f[12])) / TICKS, pgrp: Number(f[2]), ppid: Number(f[1]), comm };
  } catch {
    return null;
  }
}

/** Nanoseconds the main thread spent runnable but waiting for a CPU (the run queue). */
function runDelayOf(pid: number): number {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return 0;
  }
}

const allPids = () => fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);

export type CpuSplit = { service: number; postgres: number; client: number; seconds: number; serviceRunQueueMs: number; clientRunQueueMs: number };

/** Samples every 200 ms until stop(): CPU seconds per side over the window. */
export function cpuSampler(opts: { dbUrl: string; dbName: string; servicePgrp?: number; childComm?: string }) {
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  const see = (side: string, pid: number, cpu: number, born: boolean) => {
    const k = `${side}:${pid}`;
    if (!first.has(k)) first.set(k, born ? 0 : cpu);
    last.set(k, cpu);
  };
  const client = new pg.Client({ connectionString: opts.dbUrl });
  client.on('error', () => {});
  let pgPids: number[] = [];
  let ready = client.connect();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const w0 = runDelayOf(process.pid);
  let inFlight: Promise<void> | null = null;
  let started = false;
  const sample = (): Promise<void> => (inFlight ??= once().finally(() => (inFlight = null)));
  const once = async () => {
    try {
      await ready;
      const r = await client.query(`select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [opts.dbName]);
      pgPids = r.rows.map((x) => x.pid as number);
      for (const pid of pgPids) {
        const c = cpuOf(pid);
        if (c) see('pg', pid, c.cpu, started);
      }
      for (const pid of allPids()) {
        const c = cpuOf(pid);
        if (!c) continue;
        if (opts.servicePgrp && c.pgrp === opts.servicePgrp) {
          see('svc', pid, c.cpu, started);
          see('svcwait', pid, runDelayOf(pid), started);
        }
        else if (opts.childComm && c.comm === opts.childComm && c.ppid === process.pid) see('child', pid, c.cpu, started);
      }
      started = true;
    } catch {
      // a sample lost (the connection went away): the figures come from the others
    }
  };
  void sample();
  const timer = setInterval(() => void sample(), 200);
  return {
    async stop(): Promise<CpuSplit> {
      clearInterval(timer);
      await inFlight;
      await sample();
      const sum = (side: string) => [...last].filter(([k]) => k.startsWith(`${side}:`)).reduce((n, [k, v]) => n + v - (first.get(k) ?? 0), 0);
      const own = process.cpuUsage(c0);
      await client.end().catch(() => {});
      return {
        service: sum('svc'),
        postgres: sum('pg'),
        client: (own.user + own.system) / 1e6 + sum('child'),
        seconds: (performance.now() - t0) / 1000,
        serviceRunQueueMs: sum('svcwait'),
        clientRunQueueMs: runDelayOf(process.pid) - w0,
      };
    },
  };
}

const PAGE = 4096; // getconf PAGESIZE on Linux x86-64

function rssOf(pid: number): number | null {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE;
  } catch {
    return null;
  }
}

export type RssSample = { at: number; service: number; tree: number };

/**
 * The resident memory of a service's process group, every `intervalMs` until stop(): `service` is
 * the processes that run it (those with no child in the group: npm, sh and tsx's launcher only
 * wait), `tree` all of them; `at` is performance.now() of the sample.
 */
export function rssSampler(pgrp: number, intervalMs: number) {
  const samples: RssSample[] = [];
  const sample = () => {
    const group: Array<{ pid: number; ppid: number }> = [];
    for (const pid of allPids()) {
      const c = cpuOf(pid);
      if (c && c.pgrp === pgrp) group.push({ pid, ppid: c.ppid });
    }
    const parents = new Set(group.map((p) => p.ppid));
    let service = 0;
    let tree = 0;
    for (const p of group) {
      const rss = rssOf(p.pid) ?? 0;
      tree += rss;
      if (!parents.has(p.pid)) service += rss;
    }
    samples.push({ at: performance.now(), service, tree });
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop(): RssSample[] {
      clearInterval(timer);
      sample();
      return samples;
    },
  };
}
