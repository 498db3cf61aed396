// The words of the public pages in both languages, and how a request picks its language.
// State, event and role names come from workflows/labels.ts, the one table next to the machines.
import { LANGS, type Lang } from '../../workflows/labels.js';

export { LANGS, type Lang };

const en = {
  siteName: 'Guangdong AI & Robotics Public Register',
  siteTagline: 'Regulatory sandbox, safety and ethics certificates, generative-AI joint-laboratory projects',
  skip: 'Skip to content',
  navRegister: 'Register',
  navWorkflows: 'How cases proceed',
  navPrimary: 'Main',
  switchTo: '中文',
  switchToLabel: '切换到简体中文',
  searchTitle: 'Search the public register',
  searchIntro: 'Enter a certificate number to verify a certificate, or part of a holder, organization, product or project name.',
  searchLabel: 'Certificate number, name or keyword',
  searchButton: 'Search',
  filters: 'Filters',
  kind: 'Register',
  kindAll: 'All registers',
  kindCertificates: 'Certificates',
  kindSandbox: 'Sandbox participants',
  kindGenai: 'GenAI joint-laboratory projects',
  certificateStatus: 'Certificate status',
  caseState: 'Participant or project state',
  scheme: 'Scheme',
  any: 'Any',
  apply: 'Apply filters',
  clear: 'Clear',
  noResults: 'Nothing in this register matches.',
  more: (what: string) => `More ${what.toLowerCase()} →`,
  nextPage: 'Next page →',
  firstPage: '← First page',
  pagination: 'Pages',
  resultsFor: (q: string) => `Results for “${q}”`,
  number: 'Number',
  status: 'Status',
  state: 'State',
  holder: 'Certificate holder',
  product: 'Product',
  version: 'Version',
  lab: 'Testing and certification lab',
  issued: 'Issued',
  validUntil: 'Valid until',
  organization: 'Organization',
  testingPeriod: 'Testing period',
  projectTitle: 'Project',
  leadOrganization: 'Lead organization',
  partners: 'Partners',
  researchAreas: 'Research areas',
  evaluatingLab: 'Evaluating lab',
  approved: 'Approved',
  completed: 'Completed',
  certificateHeading: (n: string) => `Certificate ${n}`,
  sandboxHeading: (n: string) => `Sandbox participant ${n}`,
  genaiHeading: (n: string) => `GenAI joint-laboratory project ${n}`,
  statusSentence: {
    valid: 'This certificate is valid.',
    suspended: 'This certificate is suspended: it is not in force while suspended.',
    revoked: 'This certificate has been revoked: it is no longer valid.',
    expired: 'This certificate has expired: it is no longer valid.',
  },
  statusAsOf: 'Status as of',
  history: 'Status history',
  date: 'Date',
  event: 'Event',
  reason: 'Reason',
  noHistory: 'No status changes recorded.',
  machineReadable: 'Machine-readable (JSON)',
  timeZoneNote: 'Dates and times are China Standard Time (UTC+8).',
  backToRegister: '← Back to the register',
  notFoundTitle: 'Not found',
  notFoundCertificate: (n: string) => `No certificate with the number “${n}” has been issued. Check the number on the certificate and search again.`,
  notFoundSandbox: (n: string) => `No sandbox participant with the number “${n}” is in the public register.`,
  notFoundGenai: (n: string) => `No GenAI joint-laboratory project with the number “${n}” is in the public register.`,
  notFoundPage: 'There is no page at this address.',
  badRequestTitle: 'This link is not valid',
  badRequest: 'The page link is damaged or out of date. Start again from the first page.',
  errorTitle: 'Something went wrong',
  unavailableTitle: 'Temporarily unavailable',
  unavailable: 'The register cannot be reached just now. Please try again in a few seconds.',
  error: (id: string) => `The page could not be shown. Please try again; if it keeps happening, quote reference ${id}.`,
  workflowsTitle: 'How cases proceed',
  workflowsIntro: 'Each case moves through these states. An event, fired by the role named, moves it from one state to the next; some events keep the case in its state.',
  diagram: 'Diagram',
  transitionsTable: (title: string) => `${title}: states and transitions`,
  fromState: 'In state',
  to: 'Leads to',
  roles: 'Who',
  conditional: 'only if a rule allows',
  staysInState: 'stays',
  initial: 'start',
  final: 'final',
  finalStates: 'Final states: ',
  mermaidSource: 'Mermaid source',
  footer: 'Only public information is shown: numbers, names, scheme, lab, status and dates. Applications, test results, reports and contacts are never published.',
  apiLink: 'Public register API',
  region: {
    guangdong: 'Guangdong',
    mainland_other: 'Mainland China (outside Guangdong)',
    hong_kong: 'Hong Kong',
    macao: 'Macao',
    overseas: 'Overseas',
  } as Record<string, string>,
  researchArea: {
    red_teaming: 'Red teaming',
    content_safety: 'Content safety',
    watermarking_and_labeling: 'Watermarking and labelling',
    data_security: 'Data security',
    alignment: 'Alignment',
    evaluation_benchmarks: 'Evaluation benchmarks',
    privacy: 'Privacy',
    other: 'Other',
  } as Record<string, string>,
};

type Strings = typeof en;

const zh: Strings = {
  siteName: '广东省人工智能与机器人公共登记册',
  siteTagline: '监管沙盒、安全与伦理认证证书、生成式人工智能联合实验室项目',
  skip: '跳到正文',
  navRegister: '登记册',
  navWorkflows: '办理流程',
  navPrimary: '主导航',
  switchTo: 'English',
  switchToLabel: 'Switch to English',
  searchTitle: '查询公共登记册',
  searchIntro: '输入证书编号核验证书，或输入持证单位、机构、产品或项目名称的一部分。',
  searchLabel: '证书编号、名称或关键词',
  searchButton: '查询',
  filters: '筛选',
  kind: '登记类别',
  kindAll: '全部类别',
  kindCertificates: '认证证书',
  kindSandbox: '沙盒参与者',
  kindGenai: '生成式人工智能联合实验室项目',
  certificateStatus: '证书状态',
  caseState: '参与者或项目状态',
  scheme: '认证方案',
  any: '不限',
  apply: '应用筛选',
  clear: '清除',
  noResults: '登记册中没有符合条件的记录。',
  more: (what: string) => `更多${what} →`,
  nextPage: '下一页 →',
  firstPage: '← 第一页',
  pagination: '分页',
  resultsFor: (q: string) => `“${q}”的查询结果`,
  number: '编号',
  status: '状态',
  state: '状态',
  holder: '持证单位',
  product: '产品',
  version: '版本',
  lab: '检测认证机构',
  issued: '发证日期',
  validUntil: '有效期至',
  organization: '机构',
  testingPeriod: '测试期',
  projectTitle: '项目名称',
  leadOrganization: '牵头单位',
  partners: '合作单位',
  researchAreas: '研究方向',
  evaluatingLab: '评估实验室',
  approved: '立项日期',
  completed: '结项日期',
  certificateHeading: (n: string) => `证书 ${n}`,
  sandboxHeading: (n: string) => `沙盒参与者 ${n}`,
  genaiHeading: (n: string) => `联合实验室项目 ${n}`,
  statusSentence: {
    valid: '本证书有效。',
    suspended: '本证书已暂停：暂停期间证书无效。',
    revoked: '本证书已被撤销，不再有效。',
    expired: '本证书已过期，不再有效。',
  },
  statusAsOf: '状态查询时间',
  history: '状态变更记录',
  date: '日期',
  event: '事项',
  reason: '原因',
  noHistory: '暂无状态变更记录。',
  machineReadable: '机器可读格式（JSON）',
  timeZoneNote: '日期和时间均为北京时间（UTC+8）。',
  backToRegister: '← 返回登记册',
  notFoundTitle: '未找到',
  notFoundCertificate: (n: string) => `未查到编号为“${n}”的证书。请核对证书上的编号后重新查询。`,
  notFoundSandbox: (n: string) => `公共登记册中没有编号为“${n}”的沙盒参与者。`,
  notFoundGenai: (n: string) => `公共登记册中没有编号为“${n}”的联合实验室项目。`,
  notFoundPage: '此地址没有页面。',
  badRequestTitle: '链接无效',
  badRequest: '页面链接已损坏或已过期，请从第一页重新开始。',
  errorTitle: '出现错误',
  unavailableTitle: '暂时无法访问',
  unavailable: '登记系统暂时无法访问，请几秒钟后重试。',
  error: (id: string) => `页面暂时无法显示，请稍后重试；如问题持续，请提供参考编号 ${id}。`,
  workflowsTitle: '办理流程',
  workflowsIntro: '每个案件依次经过以下状态。由所列角色触发的事项使案件从一个状态进入下一个状态；部分事项不改变状态。',
  diagram: '流程图',
  transitionsTable: (title: string) => `${title}：状态与流转`,
  fromState: '所处状态',
  to: '进入状态',
  roles: '办理方',
  conditional: '须符合规则',
  staysInState: '不变',
  initial: '起始',
  final: '终结',
  finalStates: '终结状态：',
  mermaidSource: 'Mermaid 源码',
  footer: '本登记册仅公开编号、名称、认证方案、实验室、状态和日期。申请材料、检测结果、报告和联系方式一律不予公开。',
  apiLink: '公共登记册接口',
  region: {
    guangdong: '广东',
    mainland_other: '内地其他省市',
    hong_kong: '香港',
    macao: '澳门',
    overseas: '境外',
  },
  researchArea: {
    red_teaming: '红队测试',
    content_safety: '内容安全',
    watermarking_and_labeling: '水印与标识',
    data_security: '数据安全',
    alignment: '价值对齐',
    evaluation_benchmarks: '评测基准',
    privacy: '隐私保护',
    other: '其他',
  },
};

export const STRINGS: Record<Lang, Strings> = { en, 'zh-Hans': zh };

/** `?lang=` wins when it names a language we have; else the first of Accept-Language we have; else Chinese. */
export function chooseLang(queryLang: unknown, acceptLanguage: string | undefined): { lang: Lang; explicit: boolean } {
  if (typeof queryLang === 'string') {
    const fromQuery = toLang(queryLang);
    if (fromQuery) return { lang: fromQuery, explicit: true };
  }
  const ranked = (acceptLanguage ?? '')
    .split(',')
    .map((part, i) => {
      const [tag, ...params] = part.trim().split(';');
      const qp = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      const q = qp ? Number(qp.slice(2)) : 1;
      return { tag: tag!.trim(), q: Number.isFinite(q) ? q : 0, i };
    })
    .filter((x) => x.tag && x.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  for (const { tag } of ranked) {
    const lang = toLang(tag);
    if (lang) return { lang, explicit: false };
  }
  return { lang: 'zh-Hans', explicit: false };
}

function toLang(tag: string): Lang | null {
  const primary = tag.toLowerCase().split('-')[0];
  if (primary === 'zh') return 'zh-Hans';
  if (primary === 'en') return 'en';
  return null;
}

const dateFmt = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' });
const timeFmt = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });

/** YYYY-MM-DD in China Standard Time, the register's time zone. */
export const formatDate = (iso: string | Date): string => dateFmt.format(new Date(iso));
/** YYYY-MM-DD HH:mm in China Standard Time. */
export const formatDateTime = (iso: string | Date): string => `${formatDate(iso)} ${timeFmt.format(new Date(iso))}`;
