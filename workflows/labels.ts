// What people read: the shared vocabulary (languages, roles, certificate statuses), and the labels of
// every workflow's states and events, which each workflow declares beside its machine (state meta,
// event declarations) and defineWorkflow collects: nothing here is written per state or event.
import { certificationWorkflow } from './certification.js';
import { workflows } from './index.js';
import { LANGS, l, type ActorRole, type CertificateStatus, type Label, type Lang, type WorkflowLabels } from './kit.js';

export { LANGS, type Label, type Lang, type WorkflowLabels };

export const workflowLabels: Record<string, WorkflowLabels> = Object.fromEntries(workflows.map((wf) => [wf.kind, wf.labels]));

/** The public status of a certificate (SPEC §4b), which the register derives from the case's state. */
export const certificateStatusLabels: Record<CertificateStatus, Label> = {
  valid: l('Valid', '有效'),
  suspended: l('Suspended', '已暂停'),
  revoked: l('Revoked', '已撤销'),
  expired: l('Expired', '已过期'),
};

/**
 * What the register's Reason column says of a certificate's status change that has no reason of
 * the regulator's: the machine records English text for these (RESTORE without a reason, EXPIRE),
 * which a Chinese page must not show. Declared with the events (statusReason).
 */
export const statusChangeLabels: Partial<Record<string, Label>> = certificationWorkflow.labels.statusReasons;

export const roleLabels: Record<ActorRole, Label> = {
  admin: l('Administrator', '管理员'),
  regulator: l('Regulator', '监管部门'),
  lab: l('Lab', '检测实验室'),
  applicant: l('Applicant', '申请人'),
  system: l('System (at a deadline)', '系统（到期自动）'),
};

/** The label of a state in `lang`; the state's own name when the table has none. */
export const stateLabel = (kind: string, state: string, lang: Lang): string => workflowLabels[kind]?.states[state]?.[lang] ?? state;
export const eventLabel = (kind: string, event: string, lang: Lang): string => workflowLabels[kind]?.events[event]?.[lang] ?? event;
