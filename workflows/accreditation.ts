// A lab's accreditation (SPEC §3.2): which schemes it may assess, until when. The workflows judge it
// from facts looked up when the event is fired, so what follows is pure.
import { iso, refusal, type Accreditation, type Refusal } from './kit.js';

type Lab = { name: string; accreditation: Accreditation | null };

/** Only what the rules judge, whatever else the organization row holds (set_at, set_by). */
export const accreditationOf = (a: Accreditation | null | undefined): Accreditation | null =>
  a ? { accreditation_number: a.accreditation_number, schemes: a.schemes, valid_until: a.valid_until } : null;

/** What an accreditation lacks for `scheme` at time `at`: any, the scheme, or validity; null when it covers. */
function gap(acc: Accreditation | null, scheme: string, at: string): 'none' | 'scheme' | 'expired' | null {
  if (!acc) return 'none';
  if (!acc.schemes.includes(scheme)) return 'scheme';
  return new Date(acc.valid_until).getTime() <= new Date(at).getTime() ? 'expired' : null;
}

/** Why the lab may not act for `scheme` at `at` (its accreditation as it stands then), or null. */
export function labMayNotAct(lab: Lab, scheme: string, at: string): Refusal | null {
  switch (gap(lab.accreditation, scheme, at)) {
    case 'none':
      return refusal(`lab ${lab.name} holds no accreditation`, `实验室 ${lab.name} 未取得认可`);
    case 'scheme':
      return refusal(`the accreditation of lab ${lab.name} does not cover scheme ${scheme}`, `实验室 ${lab.name} 的认可范围不含认证方案 ${scheme}`);
    case 'expired':
      return refusal(`the accreditation of lab ${lab.name} expired at ${iso(lab.accreditation!.valid_until)}`, `实验室 ${lab.name} 的认可已于 ${iso(lab.accreditation!.valid_until)} 到期`);
    default:
      return null;
  }
}

/** Why the lab was not accredited for `scheme` when it tested (its accreditation as it stood then), or null. */
export function labWasNotAccredited(lab: Lab & { tested_at: string }, scheme: string): Refusal | null {
  const when = `on ${iso(lab.tested_at)}, when the results were tested`;
  const whenZh = `于 ${iso(lab.tested_at)}（检测结果的检测时间）`;
  switch (gap(lab.accreditation, scheme, lab.tested_at)) {
    case 'none':
      return refusal(`lab ${lab.name} held no accreditation ${when}`, `实验室 ${lab.name} ${whenZh}未取得认可`);
    case 'scheme':
      return refusal(`${when}, the accreditation of lab ${lab.name} did not cover scheme ${scheme}`, `实验室 ${lab.name} 的认可${whenZh}不含认证方案 ${scheme}`);
    case 'expired':
      return refusal(`${when}, the accreditation of lab ${lab.name} had expired (at ${iso(lab.accreditation!.valid_until)})`, `实验室 ${lab.name} 的认可${whenZh}已到期（到期时间 ${iso(lab.accreditation!.valid_until)}）`);
    default:
      return null;
  }
}
