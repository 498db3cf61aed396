// The names of the schemas' fields and choices as people read them, in both languages. A field or
// choice missing here is shown by its own name made readable (labelOf), never left out.
import { l, type Label, type Lang } from '../../workflows/kit.js';
import { STRINGS } from '../pages/i18n.js';

const FIELDS: Record<string, Label> = {
  accreditation_number: l('Accreditation number', '认可证书编号'),
  answers: l('Answers', '答复'),
  benchmark: l('Benchmark', '评测基准'),
  comments: l('Comments', '意见'),
  compliance_statement: l('Compliance statement', '合规声明'),
  conditions: l('Conditions', '附加条件'),
  contact: l('Contact person', '联系人'),
  contact_email: l('Contact email', '联系邮箱'),
  credit_code: l('Unified social credit code', '统一社会信用代码'),
  criterion_id: l('Criterion', '评价指标'),
  data_handling: l('Data handling', '数据处理方式'),
  declared_scope: l('Declared scope', '申请认证范围'),
  deliverables: l('Deliverables', '交付成果'),
  description: l('Description', '描述'),
  domains: l('Domains', '应用领域'),
  due: l('Due', '截止时间'),
  duration_months: l('Duration (months)', '期限（月）'),
  email: l('Email', '电子邮箱'),
  end: l('End', '结束时间'),
  evaluating_lab_id: l('Evaluating lab', '评估实验室'),
  evidence_sha256: l('Evidence SHA-256', '证据文件 SHA-256'),
  filing_number: l('Filing number', '备案编号'),
  findings: l('Findings', '监督检查发现'),
  foundation_model: l('Foundation model', '基础模型'),
  genai: l('Generative AI', '生成式人工智能'),
  human_collaboration: l('Works alongside people', '人机协作'),
  intended_use: l('Intended use', '预期用途'),
  kind: l('Kind', '类别'),
  lab_id: l('Lab', '实验室'),
  lessons: l('Lessons learned', '经验教训'),
  level: l('Level', '等级'),
  max_speed_mps: l('Maximum speed (m/s)', '最高速度（米/秒）'),
  max_users: l('Maximum users', '最大用户数'),
  metrics: l('Metrics', '指标'),
  milestone_id: l('Milestone', '里程碑'),
  milestones: l('Milestones', '里程碑'),
  model_under_study: l('Model under study', '研究对象模型'),
  name: l('Name', '名称'),
  name_en: l('Name in English', '英文名称'),
  new_end: l('New end of testing', '新的测试结束时间'),
  notes: l('Notes', '备注'),
  occurred_at: l('Occurred at', '发生时间'),
  operating_environment: l('Operating environment', '运行环境'),
  organization_id: l('Organization', '机构'),
  outcome: l('Outcome', '结论'),
  outcomes: l('Outcomes', '成果'),
  partners: l('Partners', '合作单位'),
  payload_kg: l('Payload (kg)', '负载（千克）'),
  period_end: l('Period end', '报告期结束'),
  period_start: l('Period start', '报告期开始'),
  product_id: l('Product', '产品'),
  provider: l('Provider', '提供方'),
  questions: l('Questions', '问题'),
  reason: l('Reason', '理由'),
  region: l('Region', '地区'),
  regions: l('Regions', '地区'),
  registration_number: l('Registration number', '注册编号'),
  remarks: l('Remarks', '备注'),
  report_sha256: l('Report SHA-256', '报告 SHA-256'),
  requested_exemptions: l('Requested exemptions', '申请豁免事项'),
  research_areas: l('Research areas', '研究方向'),
  respond_by: l('Respond by', '答复期限'),
  results: l('Results', '检测结果'),
  risk_level: l('Risk level', '风险等级'),
  risks: l('Risks', '风险'),
  robot: l('Robot', '机器人'),
  role: l('Role', '角色'),
  safeguards: l('Safeguards', '保障措施'),
  scenarios: l('Scenarios', '应用场景'),
  scheme: l('Scheme', '认证方案'),
  schemes: l('Schemes', '认证方案'),
  scope: l('Scope', '认证范围'),
  severity: l('Severity', '严重程度'),
  standards: l('Standards', '标准'),
  start: l('Start', '开始时间'),
  summary: l('Summary', '摘要'),
  test_scope: l('Test scope', '测试范围'),
  tested_at: l('Tested at', '检测时间'),
  testing_period: l('Testing period', '测试期'),
  title: l('Title', '标题'),
  valid_until: l('Valid until', '有效期至'),
  verdict: l('Verdict', '结论'),
  version: l('Version', '版本'),
};

const CHOICES: Record<string, Label> = {
  ai_system: l('AI system', '人工智能系统'),
  robot: l('Robot', '机器人'),
  embodied_ai: l('Embodied AI', '具身智能'),
  genai_service: l('Generative-AI service', '生成式人工智能服务'),
  low: l('Low', '低'),
  medium: l('Medium', '中'),
  high: l('High', '高'),
  minor: l('Minor', '轻微'),
  serious: l('Serious', '严重'),
  critical: l('Critical', '危急'),
  pass: l('Pass', '通过'),
  fail: l('Fail', '不通过'),
  not_applicable: l('Not applicable', '不适用'),
  graduated: l('Graduated', '顺利结束'),
  not_graduated: l('Not graduated', '未达预期'),
  enterprise: l('Enterprise', '企业'),
  university: l('University', '高等院校'),
  research_institute: l('Research institute', '科研院所'),
  lab: l('Lab', '检测实验室'),
  other: l('Other', '其他'),
  education: l('Education', '教育'),
  healthcare: l('Healthcare', '医疗健康'),
  transport: l('Transport', '交通出行'),
  civil_affairs: l('Civil affairs', '民政服务'),
  finance: l('Finance', '金融'),
  public_safety: l('Public safety', '公共安全'),
  industry: l('Industry', '工业制造'),
  agriculture: l('Agriculture', '农业'),
  urban_management: l('Urban management', '城市管理'),
  elderly_care: l('Elderly care', '养老服务'),
  special_operations: l('Special operations', '特种作业'),
  admin: l('Administrator', '管理员'),
  regulator: l('Regulator', '监管部门'),
  applicant: l('Applicant', '申请人'),
};

/** `testing_period` → "Testing period": a name nobody has labelled, made readable. */
const readable = (key: string) => {
  const s = key.replace(/_/g, ' ').trim();
  return s.charAt(0).toUpperCase() + s.slice(1);
};

export const fieldLabel = (lang: Lang, key: string): string => FIELDS[key]?.[lang] ?? readable(key);

/** A known choice's label (regions and research areas as the register names them, the rest from the table), or null. */
export function knownChoice(lang: Lang, key: string, value: unknown): string | null {
  const v = String(value);
  if (key === 'region' && STRINGS[lang].region[v]) return STRINGS[lang].region[v]!;
  if (key === 'research_areas' && STRINGS[lang].researchArea[v]) return STRINGS[lang].researchArea[v]!;
  return CHOICES[v]?.[lang] ?? null;
}

/** A choice's label; one nobody has labelled, made readable. */
export const choiceLabel = (lang: Lang, key: string, value: unknown): string => knownChoice(lang, key, value) ?? readable(String(value));
