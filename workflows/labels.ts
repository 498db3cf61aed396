// What people read for the machines' names: every state and event of every workflow in English and
// Simplified Chinese, kept next to the machines so a new state cannot ship without its labels
// (test/pages/labels.test.ts checks every machine against this table).
import type { ActorRole } from './kit.js';

export const LANGS = ['zh-Hans', 'en'] as const;
export type Lang = (typeof LANGS)[number];
export type Label = Record<Lang, string>;

export type WorkflowLabels = { title: Label; states: Record<string, Label>; events: Record<string, Label> };

const l = (en: string, zh: string): Label => ({ en, 'zh-Hans': zh });

export const workflowLabels: Record<string, WorkflowLabels> = {
  'sandbox-cases': {
    title: l('Regulatory sandbox admission', '监管沙盒准入'),
    states: {
      draft: l('Draft', '草稿'),
      submitted: l('Submitted', '已提交'),
      under_review: l('Under review', '审查中'),
      info_requested: l('Information requested', '待补充材料'),
      admitted: l('Admitted', '已准入'),
      testing: l('Testing', '测试中'),
      suspended: l('Suspended', '已暂停'),
      exit_review: l('Exit review', '退出评估中'),
      exited: l('Exited', '已退出'),
      rejected: l('Rejected', '不予准入'),
      withdrawn: l('Withdrawn', '已撤回'),
      lapsed: l('Lapsed', '逾期失效'),
      terminated: l('Terminated', '已终止'),
    },
    events: {
      REPLACE_APPLICATION: l('Edit application', '修改申请'),
      SUBMIT: l('Submit', '提交申请'),
      WITHDRAW: l('Withdraw', '撤回申请'),
      START_REVIEW: l('Start review', '开始审查'),
      REQUEST_INFO: l('Request information', '要求补充材料'),
      PROVIDE_INFO: l('Provide information', '补充材料'),
      INFO_LAPSED: l('Information deadline passed', '补充材料逾期'),
      ADMIT: l('Admit', '准入'),
      REJECT: l('Reject', '不予准入'),
      START_TESTING: l('Start testing', '开始测试'),
      SUBMIT_REPORT: l('Submit report', '提交阶段报告'),
      REPORT_INCIDENT: l('Report incident', '报告安全事件'),
      SUSPEND: l('Suspend', '暂停测试'),
      REINSTATE: l('Reinstate', '恢复测试'),
      EXTEND: l('Extend testing period', '延长测试期'),
      REQUEST_EXIT: l('Request exit', '申请退出'),
      PERIOD_ENDED: l('Testing period ended', '测试期届满'),
      SUBMIT_EXIT_REPORT: l('Submit exit report', '提交退出报告'),
      CONCLUDE: l('Conclude exit review', '完成退出评估'),
      TERMINATE: l('Terminate', '终止'),
    },
  },
  'certification-cases': {
    title: l('Safety and ethics certification', '安全与伦理认证'),
    states: {
      draft: l('Draft', '草稿'),
      submitted: l('Submitted', '已提交'),
      lab_assigned: l('Lab assigned', '已指派实验室'),
      testing: l('Testing', '检测中'),
      results_posted: l('Results posted', '检测结果已提交'),
      certified: l('Certified', '已认证'),
      suspended: l('Suspended', '已暂停'),
      not_certified: l('Not certified', '未通过认证'),
      revoked: l('Revoked', '已撤销'),
      expired: l('Expired', '已过期'),
      withdrawn: l('Withdrawn', '已撤回'),
    },
    events: {
      REPLACE_APPLICATION: l('Edit application', '修改申请'),
      SUBMIT: l('Submit', '提交申请'),
      WITHDRAW: l('Withdraw', '撤回申请'),
      ASSIGN_LAB: l('Assign lab', '指派实验室'),
      ACCEPT_ASSIGNMENT: l('Accept assignment', '接受指派'),
      DECLINE_ASSIGNMENT: l('Decline assignment', '拒绝指派'),
      POST_RESULTS: l('Post results', '提交检测结果'),
      REQUEST_RETEST: l('Request retest', '要求复测'),
      CERTIFY: l('Certify', '颁发证书'),
      DENY: l('Deny', '不予认证'),
      POST_SURVEILLANCE: l('Surveillance', '监督检查'),
      SUSPEND: l('Suspend', '暂停证书'),
      RESTORE: l('Restore', '恢复证书'),
      REVOKE: l('Revoke', '撤销证书'),
      EXPIRE: l('Expire', '证书到期'),
    },
  },
  'genai-projects': {
    title: l('Generative-AI joint-laboratory project', '生成式人工智能联合实验室项目'),
    states: {
      draft: l('Draft', '草稿'),
      submitted: l('Submitted', '已提交'),
      under_review: l('Under review', '审查中'),
      active: l('Active', '进行中'),
      milestone_review: l('Milestone review', '里程碑评审中'),
      final_evaluation: l('Final evaluation', '最终评估中'),
      suspended: l('Suspended', '已暂停'),
      completed: l('Completed', '已完成'),
      rejected: l('Rejected', '不予批准'),
      withdrawn: l('Withdrawn', '已撤回'),
      terminated: l('Terminated', '已终止'),
    },
    events: {
      REPLACE_APPLICATION: l('Edit proposal', '修改申报'),
      SUBMIT: l('Submit', '提交申报'),
      WITHDRAW: l('Withdraw', '撤回申报'),
      START_REVIEW: l('Start review', '开始审查'),
      APPROVE: l('Approve', '批准立项'),
      REJECT: l('Reject', '不予批准'),
      SUBMIT_MILESTONE: l('Submit milestone', '提交里程碑成果'),
      ACCEPT_MILESTONE: l('Accept milestone', '验收里程碑'),
      RETURN_MILESTONE: l('Return milestone', '退回里程碑'),
      POST_SAFETY_EVALUATION: l('Post safety evaluation', '提交安全评估'),
      REQUEST_FINAL_EVALUATION: l('Request final evaluation', '申请最终评估'),
      COMPLETE: l('Complete', '结项'),
      MARK_MILESTONE_OVERDUE: l('Mark milestone overdue', '标记里程碑逾期'),
      SUSPEND: l('Suspend', '暂停项目'),
      RESUME: l('Resume', '恢复项目'),
      TERMINATE: l('Terminate', '终止项目'),
    },
  },
};

/** The public status of a certificate (SPEC §4b), which the register derives from the case's state. */
export const certificateStatusLabels: Record<'valid' | 'suspended' | 'revoked' | 'expired', Label> = {
  valid: l('Valid', '有效'),
  suspended: l('Suspended', '已暂停'),
  revoked: l('Revoked', '已撤销'),
  expired: l('Expired', '已过期'),
};

/**
 * What the register's Reason column says of a certificate's status change that has no reason of
 * the regulator's: the machine records English text for these (RESTORE without a reason, EXPIRE),
 * which a Chinese page must not show.
 */
export const statusChangeLabels: Partial<Record<string, Label>> = {
  RESTORE: l('Suspension lifted', '暂停已解除'),
  EXPIRE: l('Validity period ended', '有效期届满'),
};

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
