// What a certification case holds (its record) and the facts its events record: the shapes the
// machine in certification.ts writes and the register and pages read.
import type { Accreditation, CertificateStatus, EventActor } from './kit.js';

export type Verdict = 'pass' | 'fail' | 'not_applicable';
export type CriterionResult = { criterion_id: string; verdict: Verdict; notes?: string; evidence_sha256?: string };
export type Criterion = { id: string; title: string; mandatory: boolean };
export type CertificationRecord = {
  submitted_at?: string;
  /** The lab currently assigned; null before assignment and after a decline. */
  lab: { id: string; name: string; accreditation_number: string; assigned_at: string; accepted_at?: string } | null;
  assignments: Array<{
    seq: number;
    lab_id: string;
    lab_name: string;
    accreditation_number: string;
    accreditation_valid_until: string;
    assigned_at: string;
    assigned_by: EventActor;
    accepted_at?: string;
    declined_at?: string;
    decline_reason?: string;
  }>;
  /** Every round of results, oldest first; a retest adds a round and never overwrites one. */
  results_rounds: Array<{
    round: number;
    seq: number;
    lab_id: string;
    results: CriterionResult[];
    summary: string;
    report_sha256: string;
    tested_at: string;
    posted_at: string;
    posted_by: EventActor;
    /** The scheme's mandatory criteria when the round was posted: what CERTIFY is judged against. */
    mandatory_criteria: string[];
    mandatory_passed: boolean;
  }>;
  retests: Array<{ seq: number; round: number; reason: string; requested_at: string; requested_by: EventActor }>;
  certificate?: { number: string; issued_at: string; valid_until: string; scope: string };
  surveillance: Array<{ seq: number; lab_id: string; findings: string; verdict: 'pass' | 'fail'; at: string; by: EventActor }>;
  /** Who changed the certificate's status, when and why (issue, surveillance, suspend, restore, revoke, expire). */
  status_history: Array<{ seq: number; event: string; status: CertificateStatus; at: string; by: EventActor; reason: string }>;
  decision?: { type: string; at: string; by: EventActor; reason?: string };
};

export type SubmitFacts = { product: { id: string; kind: string } | null; scheme: { code: string; product_kinds: string[] } | null };
export type AssignLabFacts = { lab: { id: string; name: string; kind: string; accreditation: Accreditation | null } | null };
/**
 * The assigned lab and its accreditation when it acts (ACCEPT_ASSIGNMENT, POST_RESULTS,
 * POST_SURVEILLANCE). Events recorded before labs were checked at every act have no `lab`.
 */
export type LabFacts = { lab?: { id: string; name: string; accreditation: Accreditation | null } | null };
export type PostResultsFacts = { criteria: Criterion[] } & LabFacts;
/**
 * `results_lab`: the lab that posted the last round, with the accreditation it held on the round's
 * tested_at (from the registry's history). Absent in CERTIFY events recorded before that check.
 */
export type CertifyFacts = {
  certificate_number: string;
  validity_months: number;
  results_lab?: { id: string; name: string; tested_at: string; accreditation: Accreditation | null };
};
