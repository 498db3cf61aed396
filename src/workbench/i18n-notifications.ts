// The notifications page's words in both languages (beside src/workbench/i18n.ts, which holds the
// rest of the workbench's). Event, state and role labels come from the workflows (workflows/labels.ts).
import type { Lang } from '../pages/i18n.js';
import type { REMINDED_DEADLINES } from '../webhooks/messages.js';

type Deadline = (typeof REMINDED_DEADLINES)[number];

const en = {
  nav: 'Notifications',
  navUnread: (n: string) => ` (${n} unread)`,
  title: 'Notifications',
  intro: 'What concerns your organization, as its webhooks would carry it: events on its cases, reminders of its deadlines and notices about its webhook endpoints. Unread first, then the newest first. What you did yourself is left out.',
  introRegulator: 'Events on every case, as a regulators’ webhook hears them, and notices about the regulators’ webhook endpoints. Unread first, then the newest first. What you did yourself is left out.',
  noAudience: 'Administrators belong to no organization and work no cases: there are no notifications for you.',
  none: 'You have no notifications.',
  unreadCount: (n: string) => `You have ${n} unread notification${n === '1' ? '' : 's'}.`,
  allRead: 'Everything is read.',
  unreadHeading: 'Unread',
  readHeading: 'Read',
  markAll: 'Mark all as read',
  markOne: 'Mark as read',
  markedAll: 'All notifications up to the newest you were shown are marked as read.',
  markedOne: 'The notification is marked as read.',
  when: 'When',
  what: 'What happened',
  who: 'Who',
  case: 'Case',
  deadline: 'Deadline',
  status: 'Status',
  unread: 'Unread',
  read: 'Read',
  caseCreated: 'Case created',
  reminder: (deadline: string) => `Reminder: ${deadline}`,
  deadlines: { respond_by: 'respond by', testing_ends_at: 'end of testing', valid_until: 'certificate expiry', milestone: 'milestone due' } satisfies Record<Deadline, string>,
  milestone: (id: string) => `milestone “${id}” due`,
  webhookDisabled: 'Webhook endpoint disabled',
  webhookDisabledDetail: (url: string) => `${url} failed for 5 days and was disabled: it hears nothing until it is enabled again (PATCH /v1/webhooks/:id).`,
  badUpTo: 'The form did not say which notifications you were shown (up_to must be a notification number). Reload the page and try again.',
};

export type NotificationStrings = typeof en;

const zh: NotificationStrings = {
  nav: '通知',
  navUnread: (n) => `（${n} 条未读）`,
  title: '通知',
  intro: '与贵单位有关的事项，与其回调推送的内容相同：其案件的事件、其须遵守期限的提醒，以及其回调接收地址的通知。未读在前，其后按时间由新到旧。您本人所做的操作不列出。',
  introRegulator: '所有案件的事件（与监管部门的回调推送相同），以及监管部门回调接收地址的通知。未读在前，其后按时间由新到旧。您本人所做的操作不列出。',
  noAudience: '管理员不属于任何单位，也不办理案件：没有给您的通知。',
  none: '暂无通知。',
  unreadCount: (n) => `您有 ${n} 条未读通知。`,
  allRead: '全部已读。',
  unreadHeading: '未读',
  readHeading: '已读',
  markAll: '全部标为已读',
  markOne: '标为已读',
  markedAll: '截至您所看到的最新一条，所有通知已标为已读。',
  markedOne: '该通知已标为已读。',
  when: '时间',
  what: '事项',
  who: '操作方',
  case: '案件',
  deadline: '期限',
  status: '状态',
  unread: '未读',
  read: '已读',
  caseCreated: '创建案件',
  reminder: (deadline) => `提醒：${deadline}`,
  deadlines: { respond_by: '答复期限', testing_ends_at: '测试期结束', valid_until: '证书有效期届满', milestone: '里程碑到期' },
  milestone: (id) => `里程碑“${id}”到期`,
  webhookDisabled: '回调接收地址已停用',
  webhookDisabledDetail: (url) => `${url} 连续 5 天推送失败，已停用：重新启用之前不再向其推送。`,
  badUpTo: '表单未说明您看到的是哪些通知（up_to 须为通知编号）。请刷新页面后重试。',
};

export const NOTIFY: Record<Lang, NotificationStrings> = { en, 'zh-Hans': zh };
