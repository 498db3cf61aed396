/* eslint-disable */
// Generated from schemas/ by `npm run gen:types`. Do not edit: change the schema and regenerate.

// certification/application.json
/**
 * An application to certify a product of the applicant's organization against a certification scheme (GET /v1/schemes)
 */
export interface CertificationApplication {
  product_id: string;
  /**
   * The code of a certification scheme, e.g. robot-safety
   */
  scheme: string;
  /**
   * Standards the applicant declares conformity with, e.g. ISO 10218-1:2025
   *
   * @minItems 1
   * @maxItems 50
   */
  standards?: [string, ...string[]];
  /**
   * What the certificate is asked to cover: models, versions, configurations, intended use
   */
  declared_scope: string;
}

// certification/events/ASSIGN_LAB.json
export interface CertificationAssignLabPayload {
  /**
   * A lab organization accredited for the case's scheme, not the applicant's own
   */
  lab_id: string;
}

// certification/events/CERTIFY.json
export interface CertificationCertifyPayload {
  /**
   * The certified scope; the application's declared_scope when absent
   */
  scope?: string;
}

// certification/events/DECLINE_ASSIGNMENT.json
export interface CertificationDeclineAssignmentPayload {
  reason: string;
}

// certification/events/DENY.json
export interface CertificationDenyPayload {
  reason: string;
}

// certification/events/EXPIRE.json
/**
 * RFC 3339 date-time with a time zone. No leap second (:60): JavaScript dates cannot hold one.
 */
export type DateTime = string;
/**
 * Fired by the scheduler: the deadline it acted on, the certificate's valid_until
 */
export interface CertificationExpirePayload {
  deadline: 'valid_until';
  due_at: DateTime;
}

// certification/events/POST_RESULTS.json
/**
 * One round of assessment results: every mandatory criterion of the scheme exactly once, none of them not_applicable
 */
export interface CertificationPostResultsPayload {
  /**
   * @minItems 1
   * @maxItems 200
   */
  results: [
    {
      criterion_id: string;
      verdict: 'pass' | 'fail' | 'not_applicable';
      notes?: string;
      /**
       * SHA-256 digest, 64 lower-case hex characters
       */
      evidence_sha256?: string;
    },
    ...{
      criterion_id: string;
      verdict: 'pass' | 'fail' | 'not_applicable';
      notes?: string;
      /**
       * SHA-256 digest, 64 lower-case hex characters
       */
      evidence_sha256?: string;
    }[]
  ];
  summary: string;
  /**
   * SHA-256 digest, 64 lower-case hex characters
   */
  report_sha256: string;
  tested_at: DateTime;
}

// certification/events/POST_SURVEILLANCE.json
export interface CertificationPostSurveillancePayload {
  findings: string;
  /**
   * fail suspends the certificate
   */
  verdict: 'pass' | 'fail';
}

// certification/events/REPLACE_APPLICATION.json
export type CertificationReplaceApplicationPayload = CertificationApplication;

// certification/events/REQUEST_RETEST.json
export interface CertificationRequestRetestPayload {
  reason: string;
}

// certification/events/RESTORE.json
export interface CertificationRestorePayload {
  /**
   * Why the suspension is lifted (e.g. corrective actions verified)
   */
  reason?: string;
}

// certification/events/REVOKE.json
export interface CertificationRevokePayload {
  reason: string;
}

// certification/events/SUSPEND.json
export interface CertificationSuspendPayload {
  reason: string;
}

// common/id-params.json
export interface IdParams {
  id: string;
}

// common/page-query.json
export interface PageQuery {
  limit?: number;
  cursor?: string;
}

// common/problem.json
/**
 * RFC 9457 problem details, the shape of every error
 */
export interface Problem {
  /**
   * A URI naming the problem type
   */
  type: string;
  title: string;
  status: number;
  detail: string;
  /**
   * The error code (SPEC §2, Errors)
   */
  code: string;
  /**
   * 422 rule_violation: the rule that refused the request
   */
  rule?: string;
  /**
   * 400: each field that breaks its schema
   */
  errors?: {
    path: string;
    message: string;
  }[];
  /**
   * 409 invalid_transition: the case's current state
   */
  state?: string;
  /**
   * 409 invalid_transition: the events this caller may fire in that state
   */
  allowed_events?: string[];
  /**
   * 412 version_mismatch: the case's current version
   */
  version?: number;
}

// genai/application.json
/**
 * A proposal for a project of the Greater Bay Area generative-AI safety joint laboratory (clause 12)
 */
export interface GenaiApplication {
  title: string;
  summary: string;
  /**
   * @minItems 1
   * @maxItems 8
   */
  research_areas:
    | [
        | 'red_teaming'
        | 'content_safety'
        | 'watermarking_and_labeling'
        | 'data_security'
        | 'alignment'
        | 'evaluation_benchmarks'
        | 'privacy'
        | 'other'
      ]
    | [
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        )
      ]
    | [
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        )
      ]
    | [
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        )
      ]
    | [
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        )
      ]
    | [
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        )
      ]
    | [
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        )
      ]
    | [
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        ),
        (
          | 'red_teaming'
          | 'content_safety'
          | 'watermarking_and_labeling'
          | 'data_security'
          | 'alignment'
          | 'evaluation_benchmarks'
          | 'privacy'
          | 'other'
        )
      ];
  /**
   * @maxItems 50
   */
  partners?: {
    name: string;
    region: 'guangdong' | 'mainland_other' | 'hong_kong' | 'macao' | 'overseas';
  }[];
  model_under_study: {
    name: string;
    provider: string;
    /**
     * The filing (备案) number of the generative-AI service, when it has one
     */
    filing_number?: string;
  };
  /**
   * The project plan; ids must be unique within the project
   *
   * @minItems 1
   * @maxItems 100
   */
  milestones: [
    {
      id: string;
      title: string;
      due: DateTime;
    },
    ...{
      id: string;
      title: string;
      due: DateTime;
    }[]
  ];
  duration_months: number;
  data_handling: string;
}

// genai/events/ACCEPT_MILESTONE.json
export interface GenaiAcceptMilestonePayload {
  comments?: string;
}

// genai/events/APPROVE.json
export interface GenaiApprovePayload {
  /**
   * The accredited lab that will post the project's safety evaluations
   */
  evaluating_lab_id: string;
  comments?: string;
}

// genai/events/COMPLETE.json
export interface GenaiCompletePayload {
  comments?: string;
}

// genai/events/MARK_MILESTONE_OVERDUE.json
/**
 * Fired by the scheduler: the milestone that fell due before it was accepted, and its due date
 */
export interface GenaiMarkMilestoneOverduePayload {
  milestone_id: string;
  due: DateTime;
}

// genai/events/POST_SAFETY_EVALUATION.json
export interface GenaiPostSafetyEvaluationPayload {
  benchmark: string;
  metrics: Metrics;
  verdict: 'pass' | 'fail';
}
export interface Metrics {
  [k: string]: number | undefined;
}

// genai/events/REJECT.json
export interface GenaiRejectPayload {
  reason: string;
}

// genai/events/REPLACE_APPLICATION.json
export type GenaiReplaceApplicationPayload = GenaiApplication;

// genai/events/RESUME.json
export interface GenaiResumePayload {
  comments?: string;
}

// genai/events/RETURN_MILESTONE.json
export interface GenaiReturnMilestonePayload {
  comments?: string;
}

// genai/events/SUBMIT_MILESTONE.json
/**
 * @minItems 1
 * @maxItems 100
 */
export type ShortList = [string, ...string[]];
export interface GenaiSubmitMilestonePayload {
  milestone_id: string;
  deliverables: ShortList;
  /**
   * SHA-256 digest, 64 lower-case hex characters
   */
  report_sha256: string;
}

// genai/events/SUSPEND.json
export interface GenaiSuspendPayload {
  reason: string;
}

// genai/events/TERMINATE.json
export interface GenaiTerminatePayload {
  reason: string;
}

// organizations/accreditation.json
/**
 * A lab's accreditation: which certification schemes it may assess, and until when
 */
export interface AccreditationInput {
  accreditation_number: string;
  /**
   * @minItems 1
   * @maxItems 50
   */
  schemes: [string, ...string[]];
  valid_until: DateTime;
}

// organizations/organization.json
/**
 * An applicant enterprise, university or research institute, or a testing/certification lab. Mainland organizations give their unified social credit code (GB 32100-2015); Hong Kong, Macao and overseas ones a registration number.
 */
export type OrganizationInput = {
  [k: string]: unknown | undefined;
} & {
  name: string;
  name_en?: string;
  kind: 'enterprise' | 'university' | 'research_institute' | 'lab' | 'other';
  region: 'guangdong' | 'mainland_other' | 'hong_kong' | 'macao' | 'overseas';
  /**
   * Unified social credit code, 18 characters
   */
  credit_code?: string;
  registration_number?: string;
  contact_email: string;
};

// principals/principal.json
export type PrincipalInput = {
  [k: string]: unknown | undefined;
} & {
  role: 'admin' | 'regulator' | 'lab' | 'applicant';
  organization_id?: string;
  name?: string;
};

// products/product.json
/**
 * An AI system, robot, embodied-AI system or generative-AI service. Robots carry the robot block, generative-AI services the genai block.
 */
export type ProductInput = {
  [k: string]: unknown | undefined;
} & {
  name: string;
  version: string;
  kind: 'ai_system' | 'robot' | 'embodied_ai' | 'genai_service';
  description: string;
  intended_use: string;
  /**
   * @minItems 1
   */
  domains: [
    (
      | 'education'
      | 'healthcare'
      | 'transport'
      | 'civil_affairs'
      | 'finance'
      | 'public_safety'
      | 'industry'
      | 'agriculture'
      | 'urban_management'
      | 'elderly_care'
      | 'special_operations'
      | 'other'
    ),
    ...(
      | 'education'
      | 'healthcare'
      | 'transport'
      | 'civil_affairs'
      | 'finance'
      | 'public_safety'
      | 'industry'
      | 'agriculture'
      | 'urban_management'
      | 'elderly_care'
      | 'special_operations'
      | 'other'
    )[]
  ];
  risk_level: 'low' | 'medium' | 'high';
  genai?: {
    foundation_model: string;
    /**
     * CAC generative-AI service filing number, when filed
     */
    filing_number?: string;
  };
  robot?: {
    payload_kg: number;
    max_speed_mps: number;
    operating_environment: string;
    human_collaboration: boolean;
  };
};

// sandbox/application.json
/**
 * An application to test a product in the regulatory sandbox
 */
export interface SandboxApplication {
  product_id: string;
  scenarios: ShortList;
  test_scope: {
    regions: ShortList;
    max_users: number;
    duration_months: number;
  };
  /**
   * @minItems 1
   * @maxItems 200
   */
  risks: [
    {
      description: string;
      level: 'low' | 'medium' | 'high';
    },
    ...{
      description: string;
      level: 'low' | 'medium' | 'high';
    }[]
  ];
  safeguards: ShortList;
  /**
   * @maxItems 100
   */
  requested_exemptions?: string[];
  contact: {
    name: string;
    email: string;
  };
}

// sandbox/events/ADMIT.json
export interface SandboxAdmitPayload {
  conditions: ShortList;
  testing_period: {
    start: DateTime;
    end: DateTime;
  };
}

// sandbox/events/CONCLUDE.json
export interface SandboxConcludePayload {
  outcome: 'graduated' | 'not_graduated';
  remarks?: string;
}

// sandbox/events/EXTEND.json
export interface SandboxExtendPayload {
  new_end: DateTime;
}

// sandbox/events/INFO_LAPSED.json
/**
 * Fired by the scheduler: the deadline it acted on, the open information request's respond_by
 */
export interface SandboxInfoLapsedPayload {
  deadline: 'respond_by';
  due_at: DateTime;
}

// sandbox/events/PERIOD_ENDED.json
/**
 * Fired by the scheduler: the deadline it acted on, the end of the testing period
 */
export interface SandboxPeriodEndedPayload {
  deadline: 'testing_ends_at';
  due_at: DateTime;
}

// sandbox/events/PROVIDE_INFO.json
export interface SandboxProvideInfoPayload {
  answers: ShortList;
}

// sandbox/events/REJECT.json
export interface SandboxRejectPayload {
  reason: string;
}

// sandbox/events/REPLACE_APPLICATION.json
export type SandboxReplaceApplicationPayload = SandboxApplication;

// sandbox/events/REPORT_INCIDENT.json
export interface SandboxReportIncidentPayload {
  severity: 'minor' | 'serious' | 'critical';
  occurred_at: DateTime;
  description: string;
}

// sandbox/events/REQUEST_INFO.json
export interface SandboxRequestInfoPayload {
  questions: ShortList;
  respond_by: DateTime;
}

// sandbox/events/START_TESTING.json
/**
 * Empty when the applicant starts testing; when the scheduler starts it at testing_period.start, the deadline it acted on
 */
export interface SandboxStartTestingPayload {
  deadline?: 'testing_starts_at';
  due_at?: DateTime;
}

// sandbox/events/SUBMIT_EXIT_REPORT.json
export interface SandboxSubmitExitReportPayload {
  outcomes: string;
  lessons: string;
  compliance_statement: string;
}

// sandbox/events/SUBMIT_REPORT.json
export interface SandboxSubmitReportPayload {
  period_start: DateTime;
  period_end: DateTime;
  summary: string;
  metrics?: Metrics;
}

// sandbox/events/SUSPEND.json
export interface SandboxSuspendPayload {
  reason: string;
}

// sandbox/events/TERMINATE.json
export interface SandboxTerminatePayload {
  reason: string;
}

// webhooks/delivery-params.json
export interface DeliveryParams {
  id: string;
  delivery_id: string;
}

// webhooks/endpoint-patch.json
/**
 * Which deliveries the endpoint hears: "*", "<kind>.*", "<kind>.<EVENT>" (e.g. "sandbox-cases.REQUEST_INFO"), "reminder.*" or "reminder.<deadline>" (respond_by, testing_ends_at, valid_until, milestone).
 *
 * @minItems 1
 * @maxItems 100
 */
export type Events = [string, ...string[]];
/**
 * What changes of an endpoint; the rest stays. Enabling a disabled endpoint sends its waiting deliveries.
 */
export interface WebhookEndpointPatch {
  url?: string;
  events?: Events;
  enabled?: boolean;
  description?: string | null;
}

// webhooks/endpoint.json
/**
 * A receiver of signed notifications (SPEC 9): https only unless the service runs with WEBHOOK_ALLOW_PRIVATE=true.
 */
export interface WebhookEndpointInput {
  /**
   * Where deliveries are POSTed.
   */
  url: string;
  events: Events;
  description?: string;
}

// certification/events/*.json
export interface CertificationEventPayloads {
  ASSIGN_LAB: CertificationAssignLabPayload;
  CERTIFY: CertificationCertifyPayload;
  DECLINE_ASSIGNMENT: CertificationDeclineAssignmentPayload;
  DENY: CertificationDenyPayload;
  EXPIRE: CertificationExpirePayload;
  POST_RESULTS: CertificationPostResultsPayload;
  POST_SURVEILLANCE: CertificationPostSurveillancePayload;
  REPLACE_APPLICATION: CertificationReplaceApplicationPayload;
  REQUEST_RETEST: CertificationRequestRetestPayload;
  RESTORE: CertificationRestorePayload;
  REVOKE: CertificationRevokePayload;
  SUSPEND: CertificationSuspendPayload;
}

// genai/events/*.json
export interface GenaiEventPayloads {
  ACCEPT_MILESTONE: GenaiAcceptMilestonePayload;
  APPROVE: GenaiApprovePayload;
  COMPLETE: GenaiCompletePayload;
  MARK_MILESTONE_OVERDUE: GenaiMarkMilestoneOverduePayload;
  POST_SAFETY_EVALUATION: GenaiPostSafetyEvaluationPayload;
  REJECT: GenaiRejectPayload;
  REPLACE_APPLICATION: GenaiReplaceApplicationPayload;
  RESUME: GenaiResumePayload;
  RETURN_MILESTONE: GenaiReturnMilestonePayload;
  SUBMIT_MILESTONE: GenaiSubmitMilestonePayload;
  SUSPEND: GenaiSuspendPayload;
  TERMINATE: GenaiTerminatePayload;
}

// sandbox/events/*.json
export interface SandboxEventPayloads {
  ADMIT: SandboxAdmitPayload;
  CONCLUDE: SandboxConcludePayload;
  EXTEND: SandboxExtendPayload;
  INFO_LAPSED: SandboxInfoLapsedPayload;
  PERIOD_ENDED: SandboxPeriodEndedPayload;
  PROVIDE_INFO: SandboxProvideInfoPayload;
  REJECT: SandboxRejectPayload;
  REPLACE_APPLICATION: SandboxReplaceApplicationPayload;
  REPORT_INCIDENT: SandboxReportIncidentPayload;
  REQUEST_INFO: SandboxRequestInfoPayload;
  START_TESTING: SandboxStartTestingPayload;
  SUBMIT_EXIT_REPORT: SandboxSubmitExitReportPayload;
  SUBMIT_REPORT: SandboxSubmitReportPayload;
  SUSPEND: SandboxSuspendPayload;
  TERMINATE: SandboxTerminatePayload;
}
