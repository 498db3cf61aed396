// Who fires an event, and which cases they may see: the visibility policy every read and every
// event applies before anything else (a case the caller may not see is "not found").
import type { ActorRole, EventActor } from '../../workflows/kit.js';

export type Caller = { principal_id: string | null; role: ActorRole; organization_id: string | null };
export const SYSTEM_CALLER: Caller = { principal_id: null, role: 'system', organization_id: null };

export const actorOf = (c: Caller): EventActor => ({ principal_id: c.principal_id, role: c.role });

export function canSee(row: { organization_id: string; lab_id: string | null }, caller: Caller): boolean {
  switch (caller.role) {
    case 'regulator':
    case 'system':
      return true;
    case 'applicant':
      return caller.organization_id !== null && row.organization_id === caller.organization_id;
    case 'lab':
      return caller.organization_id !== null && row.lab_id === caller.organization_id;
    default:
      return false;
  }
}
