import type { Kysely } from 'kysely';

// The seeded schemes' criteria get a Chinese title (`title_zh`) beside the English one, in the terms of
// the standards each scheme names (人工智能安全治理框架 (TC260), 科技伦理审查办法（试行）, GB/T 11291 /
// ISO 10218, GB/T 45654-2025, GB 45438-2025): a Chinese lab's results form and the Chinese pages showed
// them in English. Set by scheme code and criterion id; criteria of any other scheme, and any criterion
// not named here, are left as they are.
const TITLES_ZH: Record<string, Record<string, string>> = {
  'ai-safety-risk': {
    'risk-management': '覆盖全生命周期的文件化风险管理过程',
    'data-quality': '训练数据和测试数据的质量及来源管控',
    robustness: '对分布偏移和对抗性输入的鲁棒性',
    cybersecurity: '模型、接口及供应链的网络安全',
    'human-oversight': '人类监督及干预或停止系统运行的能力',
    'logging-traceability': '决策的日志记录与可追溯性',
    'incident-response': '安全事件报告与响应程序',
    'post-market-monitoring': '部署后监测计划',
  },
  'ai-ethics': {
    fairness: '不同用户群体间的公平公正与非歧视',
    'human-oversight': '人类监督及重大事项由人作出最终决策',
    accountability: '明确的责任机制和责任人',
    privacy: '隐私和个人信息保护（《个人信息保护法》）',
    transparency: '对受影响者的透明性和可解释性',
    'vulnerable-groups': '未成年人、老年人及其他弱势群体保护',
    sustainability: '环境与社会可持续性',
  },
  'robot-safety': {
    'emergency-stop': '急停功能（0类或1类停止）可触及且有效',
    'protective-stop': '保护性停止和安全级监控停止',
    'speed-separation-monitoring': '速度和分离监控',
    'power-force-limiting': '功率和力限制（不超过ISO/TS 15066规定的人体部位限值）',
    'functional-safety': '安全相关控制系统性能（PL d／SIL 2）',
    stability: '机械稳定性及防倾倒保护',
    'hazard-analysis': '危险识别与风险评估（ISO 12100）',
    'electrical-safety': '电气安全与电磁兼容',
    'user-information': '使用信息、标志和警告',
  },
  'genai-security': {
    'corpus-source-safety': '训练语料来源安全（抽检违法不良信息比例不超过5%）',
    'corpus-content-filtering': '训练前的语料内容过滤',
    'corpus-ip-and-personal-info': '语料中的知识产权和个人信息',
    'generated-content-safety': '生成内容安全（抽检合格率不低于90%）',
    'refusal-behaviour': '应拒答问题拒答率不低于95%，非拒答问题拒答率不高于5%',
    'content-labelling': '生成内容的显式标识和隐式标识（GB 45438-2025）',
    'minor-protection': '未成年人及弱势用户保护',
    'service-transparency': '服务透明度：公开适用人群、场合、局限性及所使用的第三方基础模型',
    'complaint-handling': '投诉举报渠道及其及时处理',
    'model-update-security': '模型更新时的安全评估',
  },
};

type Criterion = { id: string; title_zh?: string | null } & Record<string, unknown>;

async function rewrite(db: Kysely<any>, change: (code: string, c: Criterion) => Criterion): Promise<void> {
  const rows = await db.selectFrom('schemes').select(['code', 'criteria']).where('code', 'in', Object.keys(TITLES_ZH)).execute();
  for (const row of rows as Array<{ code: string; criteria: Criterion[] | string }>) {
    const criteria = typeof row.criteria === 'string' ? (JSON.parse(row.criteria) as Criterion[]) : row.criteria;
    await db
      .updateTable('schemes')
      .set({ criteria: JSON.stringify(criteria.map((c) => change(row.code, c))) })
      .where('code', '=', row.code)
      .execute();
  }
}

export async function up(db: Kysely<any>): Promise<void> {
  await rewrite(db, (code, c) => {
    const zh = TITLES_ZH[code]?.[c.id];
    return zh === undefined ? c : { ...c, title_zh: zh };
  });
}

export async function down(db: Kysely<any>): Promise<void> {
  await rewrite(db, (code, c) => {
    if (TITLES_ZH[code]?.[c.id] === undefined) return c;
    const { title_zh: _removed, ...rest } = c;
    return rest;
  });
}
