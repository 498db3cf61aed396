/* eslint-disable */
// Generated from migrations/ by `npm run gen:db-types` (kysely-codegen over a migrated PGlite). Do not
// edit: change the migration, or a JSON column's type in scripts/gen-db-types.ts, and regenerate.

import type { AccreditationInput } from "./schemas.js";
import type { ColumnType, JSONColumnType, Selectable } from "kysely";

export type Generated<T> = T extends ColumnType<infer S, infer I, infer U>
  ? ColumnType<S, I | undefined, U>
  : ColumnType<T, T | undefined, T>;

export type Int8 = ColumnType<string, bigint | number | string, bigint | number | string>;

export type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface AuditEvents {
  actor_principal_id: string | null;
  actor_role: string;
  at: Timestamp;
  case_id: string | null;
  chain_id: string;
  facts: JSONColumnType<Record<string, unknown>> | null;
  from_state: string | null;
  hash: string;
  id: Generated<Int8>;
  kind: string;
  payload: JSONColumnType<Record<string, unknown>>;
  prev_hash: string;
  seq: number;
  to_state: string | null;
  type: string;
}

export interface AuditHeads {
  chain_id: string;
  hash: string;
  seq: number;
}

export interface Cases {
  application: JSONColumnType<Record<string, unknown>>;
  audit_hash: string;
  audit_seq: number;
  created_at: Timestamp;
  deadlines: Generated<JSONColumnType<Record<string, string>>>;
  id: Generated<string>;
  kind: string;
  lab_id: string | null;
  number: string;
  organization_id: string;
  product_id: string | null;
  record: JSONColumnType<Record<string, unknown>>;
  state: string;
  updated_at: Timestamp;
  version: number;
}

export interface CertificateCredentials {
  facts_sha256: string;
  issued_at: Timestamp;
  jwt: string;
  kid: string;
  number: string;
  status_index: Int8;
}

export interface Certificates {
  case_id: string;
  holder_id: string;
  holder_name: string;
  holder_name_en: string | null;
  issued_at: Timestamp;
  lab_id: string | null;
  lab_name: string | null;
  number: string;
  product_id: string | null;
  product_name: string;
  product_version: string;
  scheme: string;
  state: string;
  status: "valid" | "suspended" | "revoked" | "expired";
  status_index: Generated<Int8>;
  valid_until: Timestamp;
}

export interface CredentialQueue {
  number: string;
}

export interface Deadlines {
  attempts: Generated<number>;
  case_id: string;
  due_at: Timestamp;
  event_type: string;
  last_error: string | null;
  name: string;
  next_attempt_at: Timestamp | null;
}

export interface IdempotencyKeys {
  body: string;
  created_at: Generated<Timestamp>;
  headers: JSONColumnType<Record<string, string>>;
  key: string;
  method: string;
  path: string;
  principal_id: string;
  request_hash: string;
  status: number;
}

export interface LogCheckpoints {
  note: string;
  root: Buffer;
  signed_at: Timestamp;
  tree_size: Int8;
}

export interface LogHead {
  id: Generated<boolean>;
  root: Buffer;
  size: Int8;
}

export interface LogLeaves {
  audit_id: Int8;
  leaf_hash: Buffer;
  log_index: Int8;
}

export interface LogNodes {
  hash: Buffer;
  index: Int8;
  level: number;
}

export interface LogQueue {
  audit_id: Int8;
}

export interface NotificationReadMarks {
  notification_id: Int8;
  principal_id: string;
}

export interface NotificationReadUpTo {
  principal_id: string;
  read_up_to: Int8;
}

export interface Notifications {
  actor_principal_id: string | null;
  at: Timestamp;
  audit_id: Int8 | null;
  case_id: string | null;
  deadline: string | null;
  due_at: Timestamp | null;
  id: Generated<Int8>;
  organization_id: string | null;
  type: string;
}

export interface NumberSequences {
  last: number;
  prefix: string;
  year: number;
}

export interface Organizations {
  accreditation: JSONColumnType<AccreditationInput & { set_at: string; set_by: string }> | null;
  contact_email: string;
  created_at: Generated<Timestamp>;
  credit_code: string | null;
  id: Generated<string>;
  kind: string;
  name: string;
  name_en: string | null;
  region: string;
  registration_number: string | null;
  updated_at: Generated<Timestamp>;
}

export interface PrincipalCacheGeneration {
  generation: Int8;
  id: Generated<boolean>;
}

export interface PrincipalCacheInstances {
  acked: Int8;
  id: string;
  lease_until: Timestamp;
}

export interface Principals {
  created_at: Generated<Timestamp>;
  id: Generated<string>;
  name: string | null;
  organization_id: string | null;
  revoked_at: Timestamp | null;
  role: string;
  token_hash: string;
}

export interface Products {
  body: JSONColumnType<Record<string, unknown>>;
  created_at: Generated<Timestamp>;
  id: Generated<string>;
  kind: string;
  name: string;
  organization_id: string;
  risk_level: string;
  updated_at: Generated<Timestamp>;
  version: string;
}

export interface Schemes {
  code: string;
  criteria: JSONColumnType<Array<{ id: string; title: string; mandatory: boolean }>>;
  description: string | null;
  product_kinds: JSONColumnType<string[]>;
  standards: JSONColumnType<string[]>;
  title: string;
  title_zh: string | null;
  validity_months: number;
}

export interface WebhookAttempts {
  attempted_at: Timestamp;
  delivery_id: string;
  duration_ms: number;
  error: string | null;
  id: Generated<Int8>;
  response_body: string | null;
  status_code: number | null;
}

export interface WebhookDeliveries {
  attempts: Generated<number>;
  audit_id: Int8 | null;
  created_at: Timestamp;
  data: JSONColumnType<Record<string, unknown>> | null;
  delivered_at: Timestamp | null;
  endpoint_id: string;
  expires_at: Timestamp;
  id: Generated<string>;
  last_attempt_at: Timestamp | null;
  last_error: string | null;
  last_status_code: number | null;
  locked_until: Timestamp | null;
  next_attempt_at: Timestamp;
  seq: Generated<Int8>;
  status: Generated<"pending" | "delivered" | "failed">;
  type: string;
}

export interface WebhookEndpoints {
  created_at: Timestamp;
  description: string | null;
  disabled_reason: string | null;
  enabled: Generated<boolean>;
  events: string[];
  failing_since: Timestamp | null;
  id: Generated<string>;
  organization_id: string | null;
  secret_ciphertext: Buffer;
  updated_at: Timestamp;
  url: string;
}

export interface WebhookReminders {
  case_id: string;
  deadline: string;
  due_at: Timestamp;
  offset_days: number;
  sent_at: Timestamp;
}

export interface WorkbenchSessions {
  created_at: Timestamp;
  expires_at: Timestamp;
  id_hash: string;
  last_seen_at: Timestamp;
  principal_id: string;
}

export interface DB {
  audit_events: AuditEvents;
  audit_heads: AuditHeads;
  cases: Cases;
  certificate_credentials: CertificateCredentials;
  certificates: Certificates;
  credential_queue: CredentialQueue;
  deadlines: Deadlines;
  idempotency_keys: IdempotencyKeys;
  log_checkpoints: LogCheckpoints;
  log_head: LogHead;
  log_leaves: LogLeaves;
  log_nodes: LogNodes;
  log_queue: LogQueue;
  notification_read_marks: NotificationReadMarks;
  notification_read_up_to: NotificationReadUpTo;
  notifications: Notifications;
  number_sequences: NumberSequences;
  organizations: Organizations;
  principal_cache_generation: PrincipalCacheGeneration;
  principal_cache_instances: PrincipalCacheInstances;
  principals: Principals;
  products: Products;
  schemes: Schemes;
  webhook_attempts: WebhookAttempts;
  webhook_deliveries: WebhookDeliveries;
  webhook_endpoints: WebhookEndpoints;
  webhook_reminders: WebhookReminders;
  workbench_sessions: WorkbenchSessions;
}

/** Each table's row as read (kysely's Selectable of it): the type of a row for code that does not build queries. */
export type Rows = { [T in keyof DB]: Selectable<DB[T]> };
