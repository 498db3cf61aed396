// What every race of conflicting decisions must answer: one winner, each loser 409
// invalid_transition or 412 version_mismatch. Shared by the race tests of one and of two instances.
type Answer = { statusCode: number; body: string; json(): any };

/** Tallies the statuses, records what is wrong in `problems`, and answers the winners. */
export function judgeRace<R extends Answer>(results: R[], trial: number, tally: Record<string, number>, problems: string[]): R[] {
  const statuses = results.map((r) => r.statusCode);
  for (const s of statuses) tally[s] = (tally[s] ?? 0) + 1;
  const winners = results.filter((r) => r.statusCode === 200);
  if (winners.length !== 1) problems.push(`trial ${trial}: ${winners.length} winners (${statuses.join(',')})`);
  for (const r of results) {
    if (r.statusCode === 200) continue;
    const code = r.json().code;
    if (!((r.statusCode === 409 && code === 'invalid_transition') || (r.statusCode === 412 && code === 'version_mismatch')))
      problems.push(`trial ${trial}: a loser got ${r.statusCode} ${code} ${r.body.slice(0, 200)}`);
  }
  return winners;
}
