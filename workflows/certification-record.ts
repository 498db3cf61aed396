// What a certification case holds (its record) and the facts its events record: the shapes the
// machine in certification.ts writes and the register and pages read.
import type { Accreditation, CertificateStatus, EventActor, Tally } from './kit.js';

export type Verdict = 'pass' | 'fail' | 'not_applicable';
export type CriterionResult = { criterion_id: string; verdict: Verdict; notes?: string; evidence_sha256?: string };
export type Criterion = { id: string; title: string; mandatory: boolean };
/**
 * A certification case's record: bounded (SPEC §2). It holds what the machine decides and shows
 * from (the current assignment, the latest round of results, the certificate and its status) and,
 * for each kind of item that accumulates, its count and the time of the latest (Tally). The items
 * themselves (every assignment and decline, every round of results, retest requests, surveillance
 * findings, status changes) are events, read from the case's history.
 */
export type CertificationRecord = {
  submitted_at?: string;
  /** The current assignment (null before one and after a decline): what ACCEPT_ASSIGNMENT, POST_RESULTS and POST_SURVEILLANCE act on. */
  lab: {
    id: string;
    name: string;
    accreditation_number: string;
    accreditation_valid_until: string;
    assigned_at: string;
    assigned_by: EventActor;
    accepted_at?: string;
  } | null;
  /** ASSIGN_LAB events (each assignment, and each decline, is in the history). */
  assignments: Tally;
  /** POST_RESULTS events: the rounds of results posted. */
  results_rounds: Tally;
  /** The latest round of results (what CERTIFY and DENY are judged on); earlier rounds are POST_RESULTS events. */
  latest_results?: {
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
  };
  /** REQUEST_RETEST events. */
  retests: Tally;
  /** The certificate issued, with the status the case's state means (the status the register shows). */
  certificate?: { number: string; issued_at: string; valid_until: string; scope: string; status: CertificateStatus };
  /** POST_SURVEILLANCE events. */
  surveillance: Tally;
  /** The events that changed the certificate's status (CERTIFY, POST_SURVEILLANCE, SUSPEND, RESTORE, REVOKE, EXPIRE): its public status history. */
  status_changes: Tally;
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
