import type { ColumnType, Generated, Kysely, Transaction } from 'kysely';

// Table types, mirroring migrations/ (the migrations are the definition; keep in step with them).
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T = unknown> = ColumnType<T, string, string>;

export interface OrganizationsTable {
  id: Generated<string>;
  name: string;
  name_en: string | null;
  kind: string;
  region: string;
  credit_code: string | null;
  registration_number: string | null;
  contact_email: string;
  accreditation: Json<Accreditation | null> | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type Accreditation = {
  accreditation_number: string;
  schemes: string[];
  valid_until: string;
  set_at: string;
  set_by: string;
};

export interface PrincipalsTable {
  id: Generated<string>;
  role: string;
  organization_id: string | null;
  name: string | null;
  token_hash: string;
  revoked_at: Timestamp | null;
  created_at: Generated<Date>;
}

export interface ProductsTable {
  id: Generated<string>;
  organization_id: string;
  name: string;
  version: string;
  kind: string;
  risk_level: string;
  body: Json<Record<string, unknown>>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface CasesTable {
  id: Generated<string>;
  kind: string;
  number: string;
  state: string;
  version: number;
  organization_id: string;
  product_id: string | null;
  lab_id: string | null;
  application: Json<Record<string, unknown>>;
  record: Json<Record<string, unknown>>;
  deadlines: Json<Record<string, string>>;
  audit_seq: number;
  audit_hash: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface NumberSequencesTable {
  prefix: string;
  year: number;
  last: number;
}

export interface AuditEventsTable {
  id: Generated<string>;
  chain_id: string;
  seq: number;
  case_id: string | null;
  kind: string;
  type: string;
  actor_principal_id: string | null;
  actor_role: string;
  from_state: string | null;
  to_state: string | null;
  payload: Json<unknown>;
  facts: Json<unknown> | null;
  at: Timestamp;
  prev_hash: string;
  hash: string;
}

export interface AuditHeadsTable {
  chain_id: string;
  seq: number;
  hash: string;
}

export interface DeadlinesTable {
  case_id: string;
  name: string;
  event_type: string;
  due_at: Timestamp;
  attempts: Generated<number>;
  last_error: string | null;
  next_attempt_at: Timestamp | null;
}

export interface IdempotencyKeysTable {
  principal_id: string;
  key: string;
  method: string;
  path: string;
  request_hash: string;
  status: number;
  headers: Json<Record<string, string>>;
  body: string;
  created_at: Generated<Date>;
}

export interface SchemesTable {
  code: string;
  title: string;
  title_zh: string | null;
  description: string | null;
  product_kinds: Json<string[]>;
  standards: Json<string[]>;
  validity_months: number;
  criteria: Json<Array<{ id: string; title: string; mandatory: boolean }>>;
}

/** Projection of certified cases for the public register, kept by triggers (migration 02). */
export interface CertificatesTable {
  number: string;
  case_id: string;
  state: string;
  status: 'valid' | 'suspended' | 'revoked' | 'expired';
  scheme: string;
  holder_id: string;
  holder_name: string;
  holder_name_en: string | null;
  product_id: string | null;
  product_name: string;
  product_version: string;
  lab_id: string | null;
  lab_name: string | null;
  issued_at: Date;
  valid_until: Date;
}

export interface DB {
  organizations: OrganizationsTable;
  principals: PrincipalsTable;
  products: ProductsTable;
  cases: CasesTable;
  number_sequences: NumberSequencesTable;
  audit_events: AuditEventsTable;
  audit_heads: AuditHeadsTable;
  deadlines: DeadlinesTable;
  idempotency_keys: IdempotencyKeysTable;
  schemes: SchemesTable;
  certificates: CertificatesTable;
}

export type Db = Kysely<DB>;
export type Trx = Transaction<DB>;
export type DbOrTrx = Kysely<DB> | Transaction<DB>;
