import type { Kysely } from 'kysely';

// Certification schemes are data: seeded here, served by GET /v1/schemes.
const SCHEMES = [
  {
    code: 'ai-safety-risk',
    title: 'AI system safety risk assessment',
    title_zh: '人工智能系统安全风险评估',
    description: 'Safety risk management of AI systems across their life cycle: risk identification, robustness, security and post-market monitoring.',
    product_kinds: ['ai_system', 'embodied_ai', 'genai_service', 'robot'],
    standards: ['ISO/IEC 23894:2023', 'ISO/IEC 42001:2023', 'ISO/IEC TR 24028:2020', '人工智能安全治理框架 (TC260)'],
    validity_months: 36,
    criteria: [
      { id: 'risk-management', title: 'Documented risk management process over the life cycle', mandatory: true },
      { id: 'data-quality', title: 'Training and test data quality and provenance controls', mandatory: true },
      { id: 'robustness', title: 'Robustness against distribution shift and adversarial input', mandatory: true },
      { id: 'cybersecurity', title: 'Cybersecurity of the model, its interfaces and supply chain', mandatory: true },
      { id: 'human-oversight', title: 'Human oversight and the ability to intervene or stop', mandatory: true },
      { id: 'logging-traceability', title: 'Logging and traceability of decisions', mandatory: true },
      { id: 'incident-response', title: 'Incident reporting and response procedure', mandatory: false },
      { id: 'post-market-monitoring', title: 'Post-deployment monitoring plan', mandatory: false },
    ],
  },
  {
    code: 'ai-ethics',
    title: 'AI ethics review',
    title_zh: '人工智能伦理审查',
    description: 'Ethics review per the Measures for Ethical Review of Science and Technology Activities and the AI ethics norms.',
    product_kinds: ['ai_system', 'embodied_ai', 'genai_service', 'robot'],
    standards: ['科技伦理审查办法（试行）', '新一代人工智能伦理规范', 'ISO/IEC TR 24368:2022'],
    validity_months: 24,
    criteria: [
      { id: 'fairness', title: 'Fairness and non-discrimination across user groups', mandatory: true },
      { id: 'human-oversight', title: 'Human oversight and human final decision on significant matters', mandatory: true },
      { id: 'accountability', title: 'Clear accountability and a responsible person', mandatory: true },
      { id: 'privacy', title: 'Privacy and personal information protection (PIPL)', mandatory: true },
      { id: 'transparency', title: 'Transparency and explainability to affected persons', mandatory: true },
      { id: 'vulnerable-groups', title: 'Protection of minors, the elderly and other vulnerable groups', mandatory: false },
      { id: 'sustainability', title: 'Environmental and social sustainability', mandatory: false },
    ],
  },
  {
    code: 'robot-safety',
    title: 'Robot safety (industrial and service robots)',
    title_zh: '机器人安全',
    description: 'Safety of industrial robots (ISO 10218-1/-2) and personal care / service robots (ISO 13482), including collaborative operation.',
    product_kinds: ['robot', 'embodied_ai'],
    standards: ['ISO 10218-1:2025', 'ISO 10218-2:2025', 'ISO 13482:2014', 'ISO/TS 15066:2016', 'GB/T 36530-2018'],
    validity_months: 36,
    criteria: [
      { id: 'emergency-stop', title: 'Emergency stop function (category 0 or 1) reachable and effective', mandatory: true },
      { id: 'protective-stop', title: 'Protective stop and safety-rated monitored stop', mandatory: true },
      { id: 'speed-separation-monitoring', title: 'Speed and separation monitoring', mandatory: true },
      { id: 'power-force-limiting', title: 'Power and force limiting within ISO/TS 15066 body-region limits', mandatory: true },
      { id: 'functional-safety', title: 'Safety-related control system performance (PL d / SIL 2)', mandatory: true },
      { id: 'stability', title: 'Mechanical stability and protection against falling over', mandatory: true },
      { id: 'hazard-analysis', title: 'Hazard identification and risk assessment (ISO 12100)', mandatory: true },
      { id: 'electrical-safety', title: 'Electrical safety and EMC', mandatory: false },
      { id: 'user-information', title: 'Information for use, markings and warnings', mandatory: false },
    ],
  },
  {
    code: 'genai-security',
    title: 'Generative AI service security (GB/T 45654-2025)',
    title_zh: '生成式人工智能服务安全基本要求',
    description: 'Basic security requirements for generative-AI services: corpus safety, model safety, security measures and assessment.',
    product_kinds: ['genai_service'],
    standards: ['GB/T 45654-2025', 'GB 45438-2025', '生成式人工智能服务管理暂行办法'],
    validity_months: 24,
    criteria: [
      { id: 'corpus-source-safety', title: 'Training corpus source safety (sampled illegal and harmful content ≤ 5%)', mandatory: true },
      { id: 'corpus-content-filtering', title: 'Corpus content filtering before training', mandatory: true },
      { id: 'corpus-ip-and-personal-info', title: 'Intellectual property and personal information in the corpus', mandatory: true },
      { id: 'generated-content-safety', title: 'Generated content safety (sampled qualified rate ≥ 90%)', mandatory: true },
      { id: 'refusal-behaviour', title: 'Refuses questions it should refuse (≥ 95%) and does not over-refuse (≤ 5%)', mandatory: true },
      { id: 'content-labelling', title: 'Explicit and implicit labelling of generated content (GB 45438-2025)', mandatory: true },
      { id: 'minor-protection', title: 'Protection of minors and vulnerable users', mandatory: true },
      { id: 'service-transparency', title: 'Service transparency: intended users, scenarios, limitations and third-party models disclosed', mandatory: true },
      { id: 'complaint-handling', title: 'Complaint and reporting channel with timely handling', mandatory: false },
      { id: 'model-update-security', title: 'Security assessment on model updates', mandatory: false },
    ],
  },
];

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('schemes')
    .addColumn('code', 'text', (c) => c.primaryKey())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('title_zh', 'text')
    .addColumn('description', 'text')
    .addColumn('product_kinds', 'jsonb', (c) => c.notNull())
    .addColumn('standards', 'jsonb', (c) => c.notNull())
    .addColumn('validity_months', 'integer', (c) => c.notNull())
    .addColumn('criteria', 'jsonb', (c) => c.notNull())
    .execute();
  for (const s of SCHEMES) {
    await db
      .insertInto('schemes')
      .values({ ...s, product_kinds: JSON.stringify(s.product_kinds), standards: JSON.stringify(s.standards), criteria: JSON.stringify(s.criteria) })
      .execute();
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('schemes').execute();
}
